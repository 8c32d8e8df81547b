// A GPU self-test the app runs once: one RMSNorm on a small seeded input, compared with the CPU
// reference. Proves that WGSL compiles and computes correctly on this adapter.
import type { GpuContext } from '../gpu/device';
import { readF32 } from '../gpu/buffers';
import { Recorder } from '../gpu/encoder';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { rmsnormRef } from '../reference/rmsnorm';

export async function gpuSelfTest(ctx: GpuContext): Promise<{ ok: boolean; relError: number; ms: number }> {
  const t0 = performance.now();
  const [T, C] = [4, 96];
  const x = Float32Array.from({ length: T * C }, (_, i) => Math.sin(i * 0.37) * 2);
  const w = Float32Array.from({ length: C }, (_, i) => 0.5 + (i % 7) / 7);
  const k = await RmsNormKernel.create(ctx);
  const xb = ctx.memory.upload('selftest.x', x);
  const wb = ctx.memory.upload('selftest.w', w);
  const yb = ctx.memory.upload('selftest.y', new Float32Array(T * C).fill(NaN));
  const rec = new Recorder(ctx, 'selftest');
  k.encode(rec, xb, wb, yb, T, C, 1e-6);
  rec.submit();
  const y = await readF32(ctx.device, yb);
  [xb, wb, yb].forEach((b) => ctx.memory.destroy(b));
  const ref = rmsnormRef(x, w, T, C, 1e-6);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) { num += (y[i] - ref[i]) ** 2; den += ref[i] ** 2; }
  const relError = Math.sqrt(num / den);
  return { ok: relError < 1e-5, relError, ms: performance.now() - t0 };
}
