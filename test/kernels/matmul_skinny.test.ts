// The skinny matmul (src/kernels/matmul_skinny.ts, MatmulOptions.gemvSkinny) vs the naive CPU
// reference on the same dequantized q4 weights: 1–16 rows of x, 2 and 4 rows of W a thread, N not a
// multiple of a workgroup's rows, K with fewer 32-k steps than k-slices and with several a slice,
// bias, residual accumulate, LoRA with q|k|v slices in the store epilogue; and what it refuses.
import { describe, expect, it } from 'vitest';
import { MatmulKernel, destroyWeight, uploadWeight } from '../../src/kernels/matmul';
import { skinnyBody, skinnyBytes } from '../../src/kernels/matmul_skinny';
import { matmulWeightRef, type LoraRef } from '../../src/reference/matmul';
import { packWeight } from '../../src/formats/weights';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { M: number; N: number; K: number; ni?: number; kq?: number; bias?: boolean; accumulate?: boolean; lora?: boolean }

const CASES: Case[] = [
  { M: 16, N: 70, K: 160, bias: true }, // 5 steps over 4 slices (NI = 4: half-step stages on a 32 KiB device)
  { M: 16, N: 70, K: 160, ni: 2, kq: 8, bias: true },
  { M: 1, N: 37, K: 32, kq: 4 }, // one step: three slices walk nothing
  { M: 3, N: 37, K: 1024, ni: 2, accumulate: true, lora: true }, // 32 steps, 8 a slice; 32-row workgroups
  { M: 8, N: 130, K: 96, ni: 4, bias: true, accumulate: true, lora: true },
  { M: 13, N: 33, K: 288, ni: 2, kq: 4, lora: true },
  { M: 16, N: 1536, K: 1536 }, // Qwen2.5-1.5B's o at G = 16
];

function loraFor(M: number, N: number): LoraRef {
  const R = 8;
  const ldu = 3 * R + 2;
  return { u: normal(M * 3, M * ldu), ldu, B: normal(N * 5, N * R, 0.3), R, scale: 2, slice1: Math.floor(N / 2), slice2: Math.floor((3 * N) / 4) };
}

describe('matmul_skinny', () => {
  for (const c of CASES) {
    const name = `q4 skinny M=${c.M} N=${c.N} K=${c.K} NI=${c.ni ?? 4}${c.kq ? ` KQ=${c.kq}` : ''}${c.bias ? ' bias' : ''}${c.accumulate ? ' accumulate' : ''}${c.lora ? ' + lora slices' : ''}`;
    it(name, async () => {
      const ctx = await testGpu();
      const kernel = await MatmulKernel.create(ctx);
      const x = normal(c.M + c.N + c.K, c.M * c.K);
      const host = packWeight('q4', normal(c.N * c.K + 1, c.N * c.K, 0.05), c.N, c.K);
      const bias = c.bias ? normal(c.N, c.N, 0.1) : undefined;
      const yIn = c.accumulate ? normal(9, c.M * c.N) : null;
      const lora = c.lora ? loraFor(c.M, c.N) : null;
      const w = uploadWeight(ctx, host, 'w', bias);
      const xb = ctx.memory.upload('x', x);
      const yb = yIn ? ctx.memory.upload('y', yIn) : poisoned(ctx, c.M * c.N);
      const ub = lora ? ctx.memory.upload('u', lora.u) : null;
      const bb = lora ? ctx.memory.upload('B', lora.B) : null;
      const y = await runAndRead(ctx, yb, (rec) =>
        kernel.encode(rec, xb, w, yb, c.M, {
          variant: 'gemv', gemvSkinny: true, gemvRows: c.ni, gemvSkinnyStage: c.kq, accumulate: c.accumulate,
          lora: lora && ub && bb ? { u: ub, ldu: lora.ldu, B: bb, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2 } : null,
        }),
      );
      expectClose(y, matmulWeightRef(x, host, c.M, { bias, yIn: yIn ?? undefined, lora: lora ?? undefined }), 1e-5, name);
      [xb, yb, ub, bb].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    });
  }

  it('refuses what it cannot run, with the reason', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const bf = uploadWeight(ctx, packWeight('bf16', normal(1, 37 * 64, 0.05), 37, 64), 'bf');
    const odd = uploadWeight(ctx, packWeight('q4', normal(2, 37 * 48, 0.05), 37, 48), 'odd');
    const xb = ctx.memory.upload('x', normal(3, 4 * 64));
    const yb = poisoned(ctx, 4 * 37);
    for (const [w, what] of [[bf, 'bf16'], [odd, 'K = 48']] as const) {
      await expect(runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, 4, { variant: 'gemv', gemvSkinny: true }))).rejects.toThrow(what);
    }
    expect(() => skinnyBody(4, 3)).toThrow('rows of W a thread must be one of 2, 4');
    expect(() => skinnyBody(17, 4)).toThrow('1…16 rows of x');
    expect(() => skinnyBody(4, 4, 2)).toThrow('vec4 along k a stage must be one of 4, 8');
    expect(skinnyBytes(4, 8)).toBe(4 * 8 * 80 * 16 + 64);
    const ok = uploadWeight(ctx, packWeight('q4', normal(4, 37 * 64, 0.05), 37, 64), 'ok');
    await expect(runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, ok, yb, 4, { variant: 'gemv', gemvSkinny: true, gemvSkinnyStage: 8, gemvRows: 4 }))).rejects.toThrow('needs 41024 bytes of workgroup memory');
    // by default never; from gemvSkinnyRows rows of x where it can run (not for bf16: the GEMV then)
    expect(kernel.skinnyFor(ok, 16, {}, false, false)).toBe(false);
    kernel.gemvSkinnyRows = 8;
    expect([kernel.skinnyFor(ok, 8, {}, false, false), kernel.skinnyFor(ok, 7, {}, false, false), kernel.skinnyFor(bf, 16, {}, false, false), kernel.skinnyFor(ok, 16, {}, true, false), kernel.skinnyFor(ok, 16, { gemvRowLane: true }, false, false)]).toEqual([true, false, false, false, false]);
    destroyWeight(ctx, ok);
    [xb, yb].forEach((b) => ctx.memory.destroy(b));
    destroyWeight(ctx, bf);
    destroyWeight(ctx, odd);
  });
});
