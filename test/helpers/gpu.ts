// One real WebGPU device per test worker (Dawn in Node on SwiftShader, or the machine's GPU with
// TABZERO_GPU=system), plus helpers to run one kernel and read its output back.
import { acquireDevice, type GpuContext, type OptionalFeature } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/node';
import { readF32 } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';

const contexts = new Map<string, Promise<GpuContext>>();

/** A device per set of disabled features (to exercise fallback paths), shared within the worker. */
export function testGpu(disable: OptionalFeature[] = []): Promise<GpuContext> {
  const key = disable.slice().sort().join(',');
  let c = contexts.get(key);
  if (!c) {
    c = nodeGpu().then((gpu) => acquireDevice(gpu, { disable }));
    contexts.set(key, c);
  }
  return c;
}

/** An output buffer filled with NaN, so an element the kernel never writes fails the comparison. */
export function poisoned(ctx: GpuContext, count: number, label = 'out'): GPUBuffer {
  return ctx.memory.upload(label, new Float32Array(count).fill(NaN));
}

/** Records with `fn`, submits, and returns the f32 contents of `out`. */
export async function runAndRead(ctx: GpuContext, out: GPUBuffer, fn: (rec: Recorder) => void, count?: number): Promise<Float32Array> {
  const before = ctx.errors.length;
  const rec = new Recorder(ctx, 'test');
  fn(rec);
  rec.submit();
  const r = await readF32(ctx.device, out, count);
  if (ctx.errors.length > before) throw ctx.errors[before];
  return r;
}
