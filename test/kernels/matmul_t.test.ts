// Transposed matmul through a frozen weight (dx = dy·W) for q4, bf16 and i8, vs the reference on
// the same dequantized weights and vs tf.grad of the forward y = x·Wᵀ; odd shapes, Qwen shapes,
// accumulate, and split weights.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { MatmulKernel, destroyWeight, uploadWeight } from '../../src/kernels/matmul';
import { matmulTransposedRef } from '../../src/reference/matmul';
import { dequantizeWeight, packWeight, type WeightFormat } from '../../src/formats/weights';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { name: string; M: number; N: number; K: number; format: WeightFormat; accumulate?: boolean; split?: boolean; tiledRows?: 4 | 8; splitK?: number }
const CASES: Case[] = [
  { name: 'q4 odd M=7 N=37 K=160', M: 7, N: 37, K: 160, format: 'q4' },
  { name: 'bf16 M=70 N=130 K=72 accumulate', M: 70, N: 130, K: 72, format: 'bf16', accumulate: true },
  { name: 'i8 M=5 N=50 K=64', M: 5, N: 50, K: 64, format: 'i8' },
  { name: 'q4 8 rows per thread M=150 N=37 K=136 accumulate', M: 150, N: 37, K: 136, format: 'q4', accumulate: true, tiledRows: 8 },
  { name: 'bf16 split, 8 rows per thread M=9 N=200 K=64', M: 9, N: 200, K: 64, format: 'bf16', split: true, tiledRows: 8 },
  { name: 'q4 split into parts M=9 N=300 K=128', M: 9, N: 300, K: 128, format: 'q4', split: true },
  { name: 'bf16 split + accumulate M=3 N=200 K=64', M: 3, N: 200, K: 64, format: 'bf16', split: true, accumulate: true },
  { name: 'Qwen down backward M=8 (dy 1536 → dx 8960)', M: 8, N: 1536, K: 8960, format: 'q4' },
  // split-K (training's small grids): N in chunks of whole 16-row steps, partials summed by a second pass into dx
  { name: 'q4 split-K 3 chunks (16, 16, 5 n) M=70 N=37 K=160 accumulate', M: 70, N: 37, K: 160, format: 'q4', accumulate: true, splitK: 3 },
  { name: 'bf16 split-K 8 rows per thread, 4 chunks M=150 N=130 K=72', M: 150, N: 130, K: 72, format: 'bf16', tiledRows: 8, splitK: 4 },
  { name: 'q4 split into parts, split-K 2 chunks each M=9 N=300 K=128 accumulate', M: 9, N: 300, K: 128, format: 'q4', split: true, accumulate: true, splitK: 2 },
];

describe('matmul_t', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const dy = normal(c.M + c.N, c.M * c.N);
      const host = packWeight(c.format, normal(c.N * c.K, c.N * c.K, 0.05), c.N, c.K);
      const dxIn = c.accumulate ? normal(3, c.M * c.K) : undefined;
      const perRow = c.format === 'q4' ? c.K / 2 : c.format === 'bf16' ? 2 * c.K : c.K;
      const w = uploadWeight(ctx, host, 'w', undefined, c.split ? 64 * perRow : undefined);
      if (c.split) expect(w.parts.length).toBeGreaterThan(1);
      const kernel = await MatmulKernel.create(ctx);
      const dyb = ctx.memory.upload('dy', dy);
      const dxb = dxIn ? ctx.memory.upload('dx', dxIn) : poisoned(ctx, c.M * c.K);
      const scratch = c.splitK ? poisoned(ctx, c.splitK * c.M * c.K, 'scratch') : null;
      const split = scratch ? { scratch, splits: c.splitK } : undefined;
      const dx = await runAndRead(ctx, dxb, (rec) => kernel.encodeTransposed(rec, dyb, w, dxb, c.M, { accumulate: c.accumulate, tiledRows: c.tiledRows, split }));
      expectClose(dx, matmulTransposedRef(dy, host, c.M, dxIn), 1e-5, c.name);
      destroyWeight(ctx, w);
      for (const b of [dyb, dxb, scratch]) ctx.memory.destroy(b);
    });
  }

  it('equals tf.grad of y = x·Wᵀ', async () => {
    await tf.setBackend('cpu');
    const ctx = await testGpu();
    const [M, N, K] = [6, 40, 48];
    const host = packWeight('bf16', normal(1, N * K, 0.1), N, K);
    const W = tf.tensor2d(dequantizeWeight(host), [N, K]);
    const x = tf.tensor2d(normal(2, M * K), [M, K]);
    const dy = normal(3, M * N);
    const g = tf.grad((xt: tf.Tensor) => tf.sum(tf.mul(tf.matMul(xt as tf.Tensor2D, W, false, true), tf.tensor2d(dy, [M, N]))))(x);
    const w = uploadWeight(ctx, host, 'w');
    const kernel = await MatmulKernel.create(ctx);
    const dyb = ctx.memory.upload('dy', dy);
    const dxb = poisoned(ctx, M * K);
    const dx = await runAndRead(ctx, dxb, (rec) => kernel.encodeTransposed(rec, dyb, w, dxb, M));
    expectClose(dx, await g.data(), 1e-5, 'vs tf.grad');
  });
});
