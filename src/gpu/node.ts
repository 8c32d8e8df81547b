// The GPU object in Node: Dawn from the `webgpu` npm package, or the addon at $DAWN_NODE (the GPU
// device machine). Keeps a reference to the object for the life of the process: letting Dawn's
// GPU be garbage-collected crashes the process (DESIGN.md §5). Node-only; never imported by the app.
// Also paces Dawn's polling for finished GPU work (paceDawnPolls): left alone it makes garbage fast
// enough to stall a decode loop in a garbage collection every second or so.
import { createRequire } from 'node:module';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

const keepAlive: GPU[] = [];

/**
 * Dawn flags for every command of the CLI: unsafe APIs (Dawn lists `chromium-experimental-subgroup-matrix`
 * only with them) and shader-f16 on NVIDIA's Vulkan driver, which Dawn leaves off there by default
 * (crbug.com/42251215; Chrome on Linux too; D3D12 and Metal expose it). With both, an H100 gets the f16
 * paths and the decode matmuls on tensor cores (src/kernels/matmul_mma.ts); `--disable shader-f16` (or
 * `chromium-experimental-subgroup-matrix`) leaves them off again.
 */
export const NODE_GPU_FLAGS = ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia'];

export async function nodeGpu(flags: string[] = []): Promise<GPU> {
  const path = process.env.DAWN_NODE;
  const mod: DawnModule = path
    ? (createRequire(import.meta.url)(path) as DawnModule)
    : ((await import('webgpu')) as unknown as DawnModule);
  Object.assign(globalThis, mod.globals); // GPUBufferUsage, GPUMapMode, … as in a browser
  const gpu = mod.create(flags);
  keepAlive.push(gpu);
  paceDawnPolls(dawnPollIntervalMs);
  return gpu;
}

/**
 * The shortest time between two of Dawn's polls for finished GPU work, ms (paceDawnPolls; 0: Dawn's own
 * pace). While a map or onSubmittedWorkDone is pending, Dawn's addon calls `setImmediate` with a new native
 * function after every poll (dawn/node/binding/AsyncRunner.cpp, "TODO: create once, reuse"): an idle
 * event loop turns ~100,000 times a second, and those functions (each with a finalizer) were ~145 MB of
 * garbage a second (SwiftShader machine, bench-rollout --g 16: a mark-compact every 0.5–3 s, 36–550 ms
 * each). At one poll every 0.25 ms a map's result comes at most that much later — nothing to a decode loop
 * that keeps 8 steps in flight — and the garbage is ~60× less.
 */
export let dawnPollIntervalMs = 0.25;

let realSetImmediate: typeof setImmediate | null = null;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Paces Dawn's polls (see dawnPollIntervalMs): globalThis.setImmediate, which the addon looks up at every
 * poll, runs a native function no sooner than `intervalMs` after the previous one — the thread sleeping
 * the rest (Atomics.wait) rather than spinning the event loop. Callbacks of JavaScript functions are not
 * touched. 0 restores Dawn's own pace.
 */
export function paceDawnPolls(intervalMs: number): void {
  dawnPollIntervalMs = intervalMs;
  realSetImmediate ??= globalThis.setImmediate;
  const real = realSetImmediate;
  globalThis.setImmediate = intervalMs > 0 ? pacedImmediate(real, intervalMs, () => performance.now(), (ms) => Atomics.wait(sleeper, 0, 0, ms)) : real;
}

/**
 * `real` with every native callback run no sooner than `intervalMs` after the last one ran (`sleep` waits the
 * rest, `now` reads the clock, ms); other callbacks as `real` runs them. Pure: tests pass a fake clock.
 */
export function pacedImmediate(real: typeof setImmediate, intervalMs: number, now: () => number, sleep: (ms: number) => void): typeof setImmediate {
  let last = -Infinity;
  const paced = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (typeof fn !== 'function' || !isNative(fn)) return real(fn, ...args);
    return real(() => {
      const wait = last + intervalMs - now();
      if (wait > 0) sleep(wait);
      last = now();
      fn(...args);
    });
  }) as typeof setImmediate;
  // util.promisify(setImmediate) keeps working: the real one's custom promisified form (Symbol nodejs.util.promisify.custom)
  for (const sym of Object.getOwnPropertySymbols(real)) Object.defineProperty(paced, sym, { value: (real as unknown as Record<symbol, unknown>)[sym] });
  return paced;
}

/** A function the addon made (its source reads `[native code]`), not one of JavaScript's. */
function isNative(fn: (...a: unknown[]) => void): boolean {
  return fn.name === '' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}
