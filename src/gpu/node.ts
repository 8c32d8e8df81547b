// The GPU object in Node: Dawn from the `webgpu` npm package, or the addon at $DAWN_NODE (the GPU
// device machine). Keeps a reference to the object for the life of the process: letting Dawn's
// GPU be garbage-collected crashes the process (DESIGN.md §5). Node-only; never imported by the app.
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
  return gpu;
}
