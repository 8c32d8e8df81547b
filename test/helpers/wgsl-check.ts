// WGSL that needs a feature SwiftShader lacks (shader-f16) is checked on Dawn's null backend, which
// exposes every feature, binds 8 storage buffers a stage (WebGPU's default) and runs Tint's checks but
// computes nothing: these helpers compile and build pipelines only; the numbers are checked on a real
// GPU (`bench-check`, bench/RESULTS.md).
import { acquireDevice, type GpuContext } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/node';

let ctx: Promise<GpuContext> | null = null;

/** A device of Dawn's null backend, with shader-f16 and (unsafe APIs) subgroup matrices (compile and build checks only: it computes nothing). */
export function nullGpu(): Promise<GpuContext> {
  ctx ??= nodeGpu(['backend=null', 'enable-dawn-features=allow_unsafe_apis']).then((gpu) => acquireDevice(gpu));
  return ctx;
}

/** Compiles `code` and builds its compute pipeline (entry `main`) on the null backend; resolves to the error messages (empty: valid). */
export async function wgslErrors(code: string, constants: Record<string, number> = {}, entryPoint = 'main'): Promise<string[]> {
  const d = (await nullGpu()).device;
  d.pushErrorScope('validation');
  const m = d.createShaderModule({ code });
  const info = await m.getCompilationInfo();
  d.createComputePipeline({ layout: 'auto', compute: { module: m, entryPoint, constants } });
  const e = await d.popErrorScope();
  return [...info.messages.filter((x) => x.type === 'error').map((x) => `${x.lineNum}:${x.linePos} ${x.message}`), ...(e ? [e.message] : [])];
}
