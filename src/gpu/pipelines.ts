// Pipeline cache: one compute pipeline per (WGSL source, entry point, override constants), created
// asynchronously so compilation errors arrive as a typed error with the shader's messages.
// Lookups run once per dispatch (getSync), a few hundred times per decode step, so the cache is
// keyed first by the source string itself — the same string object each time (module imports, or
// composeSource() for sources built from snippets), whose hash V8 keeps — and then by a short key of
// label, entry point and constants. A key that contained the 6 KB source cost ≈14 µs per lookup.
import { GpuValidationError } from './errors';

export type Constants = Record<string, number>;

export class PipelineCache {
  private cache = new Map<string, Map<string, Promise<GPUComputePipeline>>>();
  private syncCache = new Map<string, Map<string, GPUComputePipeline>>();
  private count = 0;
  /** onError receives build errors of pipelines made by getSync (async ones reject instead). */
  constructor(private device: GPUDevice, private onError: (e: GpuValidationError) => void = () => {}) {}

  /** pipelines cached (async and sync) */
  get size(): number {
    return this.count;
  }

  get(label: string, code: string, constants: Constants = {}, entryPoint = 'main'): Promise<GPUComputePipeline> {
    const byKey = inner(this.cache, code);
    const key = shortKey(label, constants, entryPoint);
    let p = byKey.get(key);
    if (!p) {
      p = this.create(label, code, constants, entryPoint);
      byKey.set(key, p);
      this.count++;
      p.catch(() => { if (byKey.delete(key)) this.count--; });
    }
    return p;
  }

  /**
   * The same pipeline, built synchronously when missing (for kernels whose variants depend on a
   * shape only known at encode time). Build errors surface through the device's error handler.
   */
  getSync(label: string, code: string, constants: Constants = {}, entryPoint = 'main'): GPUComputePipeline {
    const byKey = inner(this.syncCache, code);
    const key = shortKey(label, constants, entryPoint);
    let p = byKey.get(key);
    if (!p) {
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ label, code });
      p = this.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint, constants } });
      byKey.set(key, p);
      this.count++;
      void this.device.popErrorScope().then((err) => {
        if (!err) return;
        if (byKey.delete(key)) this.count--;
        this.onError(new GpuValidationError(`could not build the "${label}" kernel (${JSON.stringify(constants)}): ${err.message}`, 'this is a TabZero bug or a driver problem; please report it with this message and your GPU'));
      });
    }
    return p;
  }

  private async create(label: string, code: string, constants: Constants, entryPoint: string): Promise<GPUComputePipeline> {
    const module = this.device.createShaderModule({ label, code });
    try {
      return await this.device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint, constants } });
    } catch (e) {
      const info = await module.getCompilationInfo?.();
      const msgs = (info?.messages ?? [])
        .filter((m) => m.type === 'error')
        .map((m) => `${label}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`)
        .join('\n');
      throw new GpuValidationError(
        `could not build the "${label}" kernel (${JSON.stringify(constants)}): ${msgs || (e as Error).message}`,
        'this is a TabZero bug or a driver problem; please report it with this message and your GPU',
      );
    }
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, code: string): Map<string, V> {
  let m = outer.get(code);
  if (!m) outer.set(code, (m = new Map()));
  return m;
}

function shortKey(label: string, constants: Constants, entryPoint: string): string {
  let key = `${label}\u0000${entryPoint}`;
  for (const k of Object.keys(constants).sort()) key += `\u0000${k}=${constants[k]}`;
  return key;
}

const composed = new Map<string, string>();

/**
 * The WGSL source made of `parts` joined by newlines, as the same string object for the same parts
 * (so pipeline lookups hash it once). Parts are module-level sources; the set of combinations is small.
 */
export function composeSource(...parts: string[]): string {
  let key = '';
  for (const p of parts) key += `${idOf(p)},`;
  let s = composed.get(key);
  if (s === undefined) composed.set(key, (s = parts.join('\n')));
  return s;
}

const partIds = new Map<string, number>();
function idOf(part: string): number {
  let i = partIds.get(part);
  if (i === undefined) partIds.set(part, (i = partIds.size + 1));
  return i;
}
