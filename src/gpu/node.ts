// The GPU object in Node: Dawn from the `webgpu` npm package, or the addon at $DAWN_NODE (the GPU
// device machine). Keeps a reference to the object for the life of the process: letting Dawn's
// GPU be garbage-collected crashes the process (DESIGN.md §5). Node-only; never imported by the app.
import { createRequire } from 'node:module';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

const keepAlive: GPU[] = [];

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
