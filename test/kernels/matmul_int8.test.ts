// The staged GEMV with x staged as int8 (gemv_body.ts BodyOpts.int8, MatmulOptions.gemvInt8) against
// the CPU reference of the same arithmetic (reference/matmul.ts matmulInt8Ref) and, with a looser
// bound, against the exact f32 product; the fused norm, LoRA, the SwiGLU store; its refusals.
import { describe, expect, it } from 'vitest';
import { MatmulKernel, destroyWeight, stagedGemvBytes, uploadWeight } from '../../src/kernels/matmul';
import { matmulInt8Ref, matmulWeightRef, type LoraRef } from '../../src/reference/matmul';
import { rmsInvRef } from '../../src/reference/rmsnorm';
import { swigluRef } from '../../src/reference/swiglu';
import { packWeight, type WeightHost } from '../../src/formats/weights';
import type { Q4Host } from '../../src/formats/q4';
import { expectClose, relError } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { Recorder } from '../../src/gpu/encoder';

const q4Of = (w: WeightHost): Q4Host => (w.format === 'q4' ? w.q : (() => { throw new Error('q4 expected'); })());

function loraFor(M: number, N: number, R: number): LoraRef {
  const ldu = 3 * R + 2;
  return { u: normal(M * 3, M * ldu), ldu, B: normal(N * 5, N * R, 0.3), R, scale: 2, slice1: Math.floor(N / 2), slice2: Math.floor((3 * N) / 4) };
}

describe('matmul, int8 x (staged GEMV)', () => {
  // [rows of x, N, K, lanes, rows a lane group, bias, accumulate, LoRA rank (0: none)]
  const cases = [
    [1, 45, 128, 4, 2, true, false, 0],
    [3, 37, 320, 8, 1, false, true, 16],
    [16, 70, 256, 16, 2, true, true, 4],
    [5, 21, 1536, 32, 4, false, false, 40],
    [1, 300, 1536, 16, 2, true, true, 16],
  ] as const;
  for (const [M, N, K, lanes, rows, bias, acc, R] of cases) {
    it(`M=${M} N=${N} K=${K} lanes=${lanes} NR=${rows}${bias ? ' bias' : ''}${acc ? ' accumulate' : ''}${R ? ` lora r=${R}` : ''}`, async () => {
      const ctx = await testGpu();
      const kernel = await MatmulKernel.create(ctx);
      const x = normal(M + N + K, M * K, 2);
      x[5] = 40; // an outlier: only its own block loses resolution
      const host = packWeight('q4', normal(N * K + 1, N * K, 0.05), N, K);
      const b = bias ? normal(N, N, 0.1) : undefined;
      const yIn = acc ? normal(9, M * N) : undefined;
      const lora = R ? loraFor(M, N, R) : undefined;
      const w = uploadWeight(ctx, host, 'w', b);
      const [xb, yb] = [ctx.memory.upload('x', x), yIn ? ctx.memory.upload('y', yIn) : poisoned(ctx, M * N)];
      const [ub, bb] = lora ? [ctx.memory.upload('u', lora.u), ctx.memory.upload('B', lora.B)] : [null, null];
      const loraOpt = lora && ub && bb ? { u: ub, ldu: lora.ldu, B: bb, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2 } : null;
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvInt8: true, gemvLanes: lanes, gemvRows: rows, accumulate: acc, lora: loraOpt }));
      const opts = { bias: b, yIn, lora };
      expectClose(y, matmulInt8Ref(x, q4Of(host), M, opts), 1e-5, 'int8 reference');
      // the approximation itself: per-32 int8 x and a 127-step codebook
      expect(relError(y, matmulWeightRef(x, host, M, opts)).rel).toBeLessThan(2e-2);
      [xb, yb, ub, bb].forEach((bf) => bf && ctx.memory.destroy(bf));
      destroyWeight(ctx, w);
    });
  }

  it('with the RMSNorm fused (x∘g staged as int8, Σx² of the raw x) and LoRA summed by the lanes, storing silu(gate)·up or not', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const eps = 1e-6;
    for (const [M, N, K, lanes, swiglu] of [[1, 88, 256, 8, true], [16, 45, 512, 16, false], [8, 88, 1536, 32, true]] as const) {
      const x = normal(140 + M, M * K, 3);
      const g = normal(141, K, 0.5);
      const host = packWeight('q4', normal(142, N * K, 0.05), N, K);
      const bias = normal(143, N, 0.1);
      const w = uploadWeight(ctx, host, 'w', bias);
      const lora = loraFor(M, N, 16);
      const rs = rmsInvRef(x, M, K, eps);
      const uUn = lora.u.map((v, i) => v / rs[Math.floor(i / lora.ldu)]);
      const [xb, gb, ub, bb] = [ctx.memory.upload('x', x), ctx.memory.upload('g', g), ctx.memory.upload('u', uUn), ctx.memory.upload('B', lora.B)];
      const xg = x.map((v, i) => v * g[i % K]);
      const part = matmulInt8Ref(xg, q4Of(host), M);
      const base = matmulWeightRef(new Float32Array(M * K), host, M, { bias, lora });
      const want = part.map((v, i) => v * rs[Math.floor(i / N)] + base[i]);
      const yb = poisoned(ctx, M * (swiglu ? N / 2 : N));
      const loraOpt = { u: ub, ldu: lora.ldu, B: bb, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2, uUnscaled: true };
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvInt8: true, gemvLanes: lanes, ySwiglu: swiglu || undefined, xNorm: { w: gb, eps }, lora: loraOpt }));
      expectClose(y, swiglu ? swigluRef(want, M, N / 2) : want, 1e-5, `int8 norm M=${M} N=${N} K=${K} swiglu=${swiglu}`);
      [xb, gb, ub, bb, yb].forEach((bf) => ctx.memory.destroy(bf));
      destroyWeight(ctx, w);
    }
  });

  it('refused without subgroups of a fixed width, and past the workgroup memory (with the bytes in the message)', async () => {
    const ctx = await testGpu();
    const host = packWeight('q4', normal(150, 8 * 2048, 0.05), 8, 2048);
    const w = uploadWeight(ctx, host, 'w');
    const b = ctx.memory.create('b', 4096);
    const rec = new Recorder(ctx, 't');
    const varying = await MatmulKernel.create({ ...ctx, subgroupMinSize: 4, subgroupMaxSize: 64 });
    expect(() => varying.encode(rec, b, w, b, 1, { variant: 'gemv', gemvInt8: true })).toThrow(/int8 x.*subgroup width not fixed/);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxComputeWorkgroupStorageSize: 16384 } });
    expect(stagedGemvBytes(4, 2048, false, true)).toBe(4 * 2048 + 1024 + 1024 + 8192 + 64);
    expect(() => small.encode(rec, b, w, b, 4, { variant: 'gemv', gemvInt8: true })).toThrow(/18496 bytes of workgroup memory.*16384 bytes; hint/);
    expect(small.canStage(w, 3, false, false, true)).toBe(true); // 3 rows fit
    ctx.memory.destroy(b);
    destroyWeight(ctx, w);
  });
});
