// WGSL that needs a feature SwiftShader lacks (shader-f16) is validated on Dawn's null backend,
// which exposes every feature and runs Tint's checks but computes nothing: these tests compile
// and build pipelines only; the numbers are checked on a real GPU (`bench-check`, bench/RESULTS.md).
import { nodeGpu } from '../../src/gpu/node';

let device: Promise<GPUDevice> | null = null;

/** A device of Dawn's null backend with shader-f16 (compile checks only: it computes nothing). */
export function nullF16Device(): Promise<GPUDevice> {
  device ??= nodeGpu(['backend=null']).then(async (gpu) => {
    const a = await gpu.requestAdapter();
    if (!a?.features.has('shader-f16')) throw new Error('Dawn null backend: no adapter with shader-f16');
    return a.requestDevice({ requiredFeatures: ['shader-f16'] });
  });
  return device;
}

/** Compiles `code` and builds its compute pipeline (entry `main`); resolves to the validation messages (empty: valid). */
export async function wgslErrors(code: string, constants: Record<string, number> = {}, entryPoint = 'main'): Promise<string[]> {
  const d = await nullF16Device();
  d.pushErrorScope('validation');
  const m = d.createShaderModule({ code });
  const info = await m.getCompilationInfo();
  d.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint, constants } });
  const e = await d.popErrorScope();
  return [...info.messages.filter((x) => x.type === 'error').map((x) => `${x.lineNum}:${x.linePos} ${x.message}`), ...(e ? [e.message] : [])];
}
