// Matmul kernels (GEMV for M ≤ 16, tiled for more rows) for q4, bf16 and i8 weights vs the naive
// CPU reference on the same dequantized weights: odd shapes, Qwen2.5-1.5B projection shapes, the
// fused epilogue (bias, residual accumulate, LoRA with q|k|v slices) and weights split into parts.
import { describe, expect, it } from 'vitest';
import { GEMV_SHORT_K, MatmulKernel, ROWLANE_MIN_N, destroyWeight, gemvLanesFor, gemvLayout, rowLaneLayout, stagedLanes, uploadWeight, type Weight } from '../../src/kernels/matmul';
import { stagedGemvBytes } from '../../src/kernels/gemv_body';
import { matmulRef, matmulWeightRef, type LoraRef } from '../../src/reference/matmul';
import { rmsInvRef, rmsnormRef } from '../../src/reference/rmsnorm';
import { swigluRef } from '../../src/reference/swiglu';
import { NF4_CODEBOOK, dequantizeQ4, quantizeQ4 } from '../../src/formats/q4';
import { packWeight, type WeightFormat } from '../../src/formats/weights';
import { expectClose, relError } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { readF32 } from '../../src/gpu/buffers';
import type { GpuContext } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/encoder';

interface Case { name: string; M: number; N: number; K: number; format?: WeightFormat; variant?: 'gemv' | 'tiled'; bias?: boolean; accumulate?: boolean; lora?: boolean; gemvRows?: number; gemvLanes?: number; gemvWide?: boolean; tiledRows?: 4 | 8; gemvSteps?: number; scatter?: boolean; loraR?: number; gemvStep4?: boolean; loraFold?: boolean; splitK?: number; gemvRowLane?: boolean; gemvThreads?: number; gemvStaged?: boolean }

const CASES: Case[] = [
  { name: 'q4 gemv odd M=7 N=37 K=160', M: 7, N: 37, K: 160, variant: 'gemv' },
  { name: 'q4 gemv M=1 N=1 K=8', M: 1, N: 1, K: 8, variant: 'gemv' },
  { name: 'q4 gemv M=16 N=70 K=200 bias', M: 16, N: 70, K: 200, variant: 'gemv', bias: true },
  { name: 'q4 tiled odd M=7 N=37 K=160', M: 7, N: 37, K: 160, variant: 'tiled' },
  { name: 'q4 tiled M=70 N=130 K=72 bias', M: 70, N: 130, K: 72, variant: 'tiled', bias: true },
  { name: 'q4 tiled 8 rows per thread M=150 N=70 K=168 bias accumulate + lora slices', M: 150, N: 70, K: 168, variant: 'tiled', bias: true, accumulate: true, lora: true, tiledRows: 8 },
  { name: 'bf16 tiled 8 rows per thread odd M=9 N=65 K=40', M: 9, N: 65, K: 40, format: 'bf16', variant: 'tiled', tiledRows: 8 },
  { name: 'q4 auto M=33 N=65 K=64 (gemv chunks of 16 when forced)', M: 33, N: 65, K: 64, variant: 'gemv' },
  { name: 'bf16 gemv M=5 N=37 K=160 bias', M: 5, N: 37, K: 160, format: 'bf16', variant: 'gemv', bias: true },
  { name: 'bf16 tiled M=67 N=96 K=88', M: 67, N: 96, K: 88, format: 'bf16', variant: 'tiled' },
  { name: 'i8 gemv M=3 N=50 K=64', M: 3, N: 50, K: 64, format: 'i8', variant: 'gemv' },
  { name: 'i8 tiled M=20 N=50 K=64 bias', M: 20, N: 50, K: 64, format: 'i8', variant: 'tiled', bias: true },
  { name: 'q4 gemv accumulate + lora slices', M: 4, N: 96, K: 64, variant: 'gemv', bias: true, accumulate: true, lora: true },
  { name: 'bf16 tiled accumulate + lora slices', M: 70, N: 96, K: 64, format: 'bf16', variant: 'tiled', accumulate: true, lora: true },
  // 2 and 4 output rows per lane group: N not a multiple of 8·NR (a partial last group), split parts, every format
  { name: 'q4 gemv NR=2 M=16 N=37 K=160 accumulate + lora slices', M: 16, N: 37, K: 160, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRows: 2 },
  { name: 'q4 gemv NR=4 M=1 N=70 K=200 bias', M: 1, N: 70, K: 200, variant: 'gemv', bias: true, gemvRows: 4 },
  { name: 'q4 gemv NR=4 M=33 N=97 K=64 accumulate + lora slices', M: 33, N: 97, K: 64, variant: 'gemv', accumulate: true, lora: true, gemvRows: 4 },
  { name: 'bf16 gemv NR=4 M=5 N=37 K=160 bias', M: 5, N: 37, K: 160, format: 'bf16', variant: 'gemv', bias: true, gemvRows: 4 },
  { name: 'i8 gemv NR=2 M=3 N=50 K=64', M: 3, N: 50, K: 64, format: 'i8', variant: 'gemv', gemvRows: 2 },
  // 64…256 lanes per row (K split over more threads; fewer rows per workgroup), K not a multiple of 8·lanes
  { name: 'q4 gemv LANES=256 M=16 N=21 K=2056 bias accumulate + lora slices', M: 16, N: 21, K: 2056, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvLanes: 256 },
  { name: 'q4 gemv LANES=64 NR=4 M=5 N=37 K=520', M: 5, N: 37, K: 520, variant: 'gemv', gemvRows: 4, gemvLanes: 64 },
  { name: 'bf16 gemv LANES=128 NR=2 M=1 N=9 K=1000', M: 1, N: 9, K: 1000, format: 'bf16', variant: 'gemv', gemvRows: 2, gemvLanes: 128 },
  // the wide GEMV (16-byte code loads, q4 with K % 32 = 0) when asked; the 8-weight one, and more lanes than 32-weight steps
  { name: 'q4 gemv 8-weight steps forced M=7 N=37 K=160', M: 7, N: 37, K: 160, variant: 'gemv', gemvWide: false },
  { name: 'q4 gemv wide LANES=256 (5 steps a row) NR=4 M=3 N=37 K=160 bias accumulate + lora slices', M: 3, N: 37, K: 160, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRows: 4, gemvLanes: 256, gemvWide: true },
  // 2 and 4 lane steps per loop trip (loads issued together); trips that pass a row's end are masked
  { name: 'q4 gemv 2 steps a trip M=1 N=70 K=200 bias (25 steps over 32 lanes)', M: 1, N: 70, K: 200, variant: 'gemv', bias: true, gemvSteps: 2 },
  { name: 'q4 gemv 4 steps a trip LANES=32 NR=2 M=9 N=45 K=1000 accumulate + lora slices (125 steps)', M: 9, N: 45, K: 1000, variant: 'gemv', accumulate: true, lora: true, gemvRows: 2, gemvLanes: 32, gemvSteps: 4 },
  { name: 'bf16 gemv 4 steps a trip LANES=64 M=3 N=21 K=2056', M: 3, N: 21, K: 2056, format: 'bf16', variant: 'gemv', gemvLanes: 64, gemvSteps: 4 },
  { name: 'i8 gemv 2 steps a trip NR=4 M=16 N=37 K=64', M: 16, N: 37, K: 64, format: 'i8', variant: 'gemv', gemvRows: 4, gemvSteps: 2 },
  // row sums by reduce_rows() instead of the reduce-scatter written for the adapter's fixed subgroup width (SwiftShader: 4 lanes)
  // 4 weights per lane step (q4): lanes on consecutive vec4 columns of x; K/4 steps not a multiple of the lanes, trips past the end masked
  { name: 'q4 gemv 8-weight steps at 16 rows (the default there is 4) M=16 N=37 K=1000 bias accumulate + lora slices', M: 16, N: 37, K: 1000, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvStep4: false },
  { name: 'q4 gemv 4-weight steps M=8 N=45 K=1000 bias accumulate + lora slices', M: 8, N: 45, K: 1000, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvStep4: true },
  { name: 'q4 gemv 4-weight steps LANES=128 NR=2 M=16 N=37 K=2056, 2 steps a trip', M: 16, N: 37, K: 2056, variant: 'gemv', gemvRows: 2, gemvLanes: 128, gemvSteps: 2, gemvStep4: true },
  { name: 'q4 gemv 4-weight steps NR=4 M=3 N=70 K=200, 4 steps a trip', M: 3, N: 70, K: 200, variant: 'gemv', gemvRows: 4, gemvSteps: 4, gemvStep4: true },
  { name: 'bf16 gemv 4-weight steps (the LM head at 9–16 rows) M=16 N=37 K=1000 bias accumulate + lora slices', M: 16, N: 37, K: 1000, format: 'bf16', variant: 'gemv', bias: true, accumulate: true, lora: true, gemvStep4: true },
  { name: 'bf16 gemv 4-weight steps LANES=64 NR=1 M=3 N=21 K=200', M: 3, N: 21, K: 200, format: 'bf16', variant: 'gemv', gemvRows: 1, gemvLanes: 64, gemvStep4: true },
  { name: 'q4 gemv 4-weight steps reduce_rows M=1 N=21 K=136 lora slices', M: 1, N: 21, K: 136, variant: 'gemv', lora: true, gemvStep4: true, scatter: false },
  // the LoRA rank as a pipeline constant (the epilogue's loop unrolled) up to 64, a runtime loop above
  { name: 'q4 gemv M=8 N=45 K=200 lora slices r = 16', M: 8, N: 45, K: 200, variant: 'gemv', lora: true, loraR: 16 },
  { name: 'q4 gemv M=3 N=45 K=200 bias lora slices r = 72 (runtime rank)', M: 3, N: 45, K: 200, variant: 'gemv', bias: true, lora: true, loraR: 72 },
  { name: 'q4 tiled M=40 N=45 K=200 lora slices r = 72 (runtime rank)', M: 40, N: 45, K: 200, variant: 'tiled', lora: true, loraR: 72 },
  { name: 'q4 gemv LoRA in the store epilogue (loraFold off) NR=2 M=16 N=37 K=160 bias accumulate + lora slices', M: 16, N: 37, K: 160, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRows: 2, loraFold: false },
  { name: 'q4 gemv LoRA in the store epilogue (loraFold off) 4-weight steps M=9 N=45 K=1000 lora slices r = 72', M: 9, N: 45, K: 1000, variant: 'gemv', lora: true, loraR: 72, gemvStep4: true, loraFold: false },
  { name: 'q4 gemv LoRA summed by the lanes, r = 40 over 32 lanes (two slots for lanes < 8) M=5 N=45 K=200 lora slices', M: 5, N: 45, K: 200, variant: 'gemv', lora: true, loraR: 40, gemvLanes: 32 },
  { name: 'q4 gemv reduce_rows NR=2 M=16 N=37 K=160 accumulate + lora slices', M: 16, N: 37, K: 160, variant: 'gemv', accumulate: true, lora: true, gemvRows: 2, scatter: false },
  { name: 'q4 gemv reduce_rows LANES=128 M=3 N=21 K=2056 bias', M: 3, N: 21, K: 2056, variant: 'gemv', bias: true, gemvLanes: 128, scatter: false },
  { name: 'q4 gemv reduce_rows wide M=5 N=37 K=160', M: 5, N: 37, K: 160, variant: 'gemv', gemvWide: true, scatter: false },
  { name: 'Qwen q_proj decode M=1 1536→1536 bias', M: 1, N: 1536, K: 1536, variant: 'gemv', bias: true },
  { name: 'Qwen q_proj decode M=1 1536→1536 bias, wide (32-weight steps)', M: 1, N: 1536, K: 1536, variant: 'gemv', bias: true, gemvWide: true },
  { name: 'Qwen gate decode M=8 1536→8960 (the row-lane GEMV by default)', M: 8, N: 8960, K: 1536, variant: 'gemv' },
  { name: 'Qwen down decode M=16 8960→1536', M: 16, N: 1536, K: 8960, variant: 'gemv' },
  { name: 'Qwen k_proj prefill M=20 1536→256 bias', M: 20, N: 256, K: 1536, variant: 'tiled', bias: true },
  // the row-lane GEMV (lanes own rows, x one address a subgroup): its default layouts, every row-lane count, 1–4 rows a lane, the reduction in several chunks (16 rows of x × 2 rows a lane), LoRA in the parts and in the epilogue
  { name: 'q4 gemv row-lane M=8 N=70 K=160 bias accumulate + lora slices', M: 8, N: 70, K: 160, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRowLane: true },
  { name: 'q4 gemv row-lane RL=32 NR=2 256 threads M=16 N=100 K=96 bias accumulate + lora slices (reduction in chunks)', M: 16, N: 100, K: 96, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRowLane: true, gemvLanes: 32, gemvRows: 2, gemvThreads: 256 },
  { name: 'q4 gemv row-lane RL=64 NR=4 128 threads M=5 N=300 K=224 bias + lora slices', M: 5, N: 300, K: 224, variant: 'gemv', bias: true, lora: true, gemvRowLane: true, gemvLanes: 64, gemvRows: 4, gemvThreads: 128 },
  { name: 'q4 gemv row-lane RL=16 NR=4 256 threads M=3 N=37 K=320 lora slices r = 72 in the epilogue (loraFold off)', M: 3, N: 37, K: 320, variant: 'gemv', lora: true, loraR: 72, loraFold: false, gemvRowLane: true, gemvLanes: 16, gemvRows: 4, gemvThreads: 256 },
  { name: 'q4 gemv row-lane RL=64 NR=1 256 threads M=1 N=9 K=64 lora slices', M: 1, N: 9, K: 64, variant: 'gemv', lora: true, gemvRowLane: true, gemvLanes: 64, gemvRows: 1, gemvThreads: 256 },
  { name: 'q4 gemv row-lane RL=8 NR=2 M=33 N=50 K=2080 accumulate (dispatches of 16 rows of x)', M: 33, N: 50, K: 2080, variant: 'gemv', accumulate: true, gemvRowLane: true, gemvLanes: 8, gemvRows: 2 },
  // the staged GEMV (x in workgroup memory, swizzled; 32-weight steps): 4…32 lanes a row (a walk past the row's end, lanes with no step), 1–4 rows a lane group, several rows of x, LoRA summed by the lanes and in the epilogue, reduce_rows
  { name: 'q4 gemv staged M=1 N=70 K=160 bias (the default layout)', M: 1, N: 70, K: 160, variant: 'gemv', bias: true, gemvStaged: true },
  { name: 'q4 gemv staged LANES=4 NR=2 M=1 N=37 K=512 bias accumulate + lora slices (4 steps a lane)', M: 1, N: 37, K: 512, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvStaged: true, gemvLanes: 4, gemvRows: 2 },
  { name: 'q4 gemv staged LANES=8 NR=4 M=3 N=70 K=96 lora slices (fewer steps than lanes)', M: 3, N: 70, K: 96, variant: 'gemv', lora: true, gemvStaged: true, gemvLanes: 8, gemvRows: 4 },
  { name: 'q4 gemv staged LANES=16 NR=1 M=2 N=21 K=1056 accumulate + lora slices r = 72 in the epilogue (loraFold off)', M: 2, N: 21, K: 1056, variant: 'gemv', accumulate: true, lora: true, loraR: 72, loraFold: false, gemvStaged: true, gemvLanes: 16, gemvRows: 1 },
  { name: 'q4 gemv staged LANES=32 M=1 N=45 K=2048 lora slices r = 40', M: 1, N: 45, K: 2048, variant: 'gemv', lora: true, loraR: 40, gemvStaged: true, gemvLanes: 32 },
  { name: 'q4 gemv staged reduce_rows LANES=8 NR=2 M=5 N=37 K=256 bias', M: 5, N: 37, K: 256, variant: 'gemv', bias: true, gemvStaged: true, gemvLanes: 8, gemvRows: 2, scatter: false },
  { name: 'Qwen gate|up decode M=1 1536→17920, staged (the default layout: 16 lanes a row, 560 workgroups)', M: 1, N: 17920, K: 1536, variant: 'gemv', gemvStaged: true },
  // split-K (training's small grids): K in chunks of whole 16-k steps, partials summed by a second pass; the bias once, the residual once
  { name: 'q4 tiled split-K 3 chunks (80, 80, 40 k) M=70 N=130 K=200 bias accumulate', M: 70, N: 130, K: 200, variant: 'tiled', bias: true, accumulate: true, splitK: 3 },
  { name: 'bf16 tiled split-K 8 rows per thread, 5 chunks M=150 N=70 K=168 bias', M: 150, N: 70, K: 168, format: 'bf16', variant: 'tiled', bias: true, tiledRows: 8, splitK: 5 },
  { name: 'i8 tiled split-K 2 chunks M=33 N=50 K=64 accumulate', M: 33, N: 50, K: 64, format: 'i8', variant: 'tiled', accumulate: true, splitK: 2 },
];

async function run(ctx: GpuContext, c: Case, w: Weight, x: Float32Array, yIn: Float32Array | null, lora: LoraRef | null): Promise<Float32Array> {
  const kernel = await MatmulKernel.create(ctx);
  kernel.gemvScatter = c.scatter ?? true;
  kernel.loraFold = c.loraFold ?? true;
  const xb = ctx.memory.upload('x', x);
  const yb = yIn ? ctx.memory.upload('y', yIn) : poisoned(ctx, c.M * c.N);
  const ub = lora ? ctx.memory.upload('u', lora.u) : null;
  const bb = lora ? ctx.memory.upload('B', lora.B) : null;
  const scratch = c.splitK ? poisoned(ctx, c.splitK * c.M * c.N, 'scratch') : null;
  const y = await runAndRead(ctx, yb, (rec) =>
    kernel.encode(rec, xb, w, yb, c.M, {
      variant: c.variant, accumulate: c.accumulate, gemvRows: c.gemvRows, gemvLanes: c.gemvLanes, gemvWide: c.gemvWide, tiledRows: c.tiledRows, gemvSteps: c.gemvSteps, gemvStep4: c.gemvStep4, gemvRowLane: c.gemvRowLane, gemvThreads: c.gemvThreads, gemvStaged: c.gemvStaged,
      lora: lora && ub && bb ? { u: ub, ldu: lora.ldu, B: bb, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2 } : null,
      split: scratch ? { scratch, splits: c.splitK } : undefined,
    }),
  );
  [xb, yb, ub, bb, scratch].forEach((b) => ctx.memory.destroy(b));
  return y;
}

function loraFor(c: Case): LoraRef {
  const R = c.loraR ?? 4;
  const ldu = 3 * R + 2; // padded row stride
  return { u: normal(c.M * 3, c.M * ldu), ldu, B: normal(c.N * 5, c.N * R, 0.3), R, scale: 2, slice1: Math.floor(c.N / 2), slice2: Math.floor((3 * c.N) / 4) };
}

/**
 * A GEMV that applies the RMSNorm of its x, with bias and LoRA: x [M, K] (seeds from `seed`), the norm
 * weight g, a q4 weight [N, K] uploaded with its bias, the LoRA u (without the norm's rsqrt where the
 * GEMV folds the LoRA term: u' = u / rsqrt(mean x² + eps) per row) and B on the GPU, and the result.
 */
function normProblem(ctx: GpuContext, M: number, N: number, K: number, eps: number, seed: number, fold: boolean) {
  const x = normal(seed + M, M * K, 3);
  const g = normal(seed + 1, K, 0.5);
  const xn = rmsnormRef(x, g, M, K, eps);
  const host = packWeight('q4', normal(seed + 2, N * K, 0.05), N, K);
  const bias = normal(seed + 3, N, 0.1);
  const w = uploadWeight(ctx, host, 'w', bias);
  const lora = loraFor({ name: '', M, N, K });
  const rs = rmsInvRef(x, M, K, eps);
  const uUn = lora.u.map((v, i) => v / rs[Math.floor(i / lora.ldu)]);
  const [xb, gb, ub, bb] = [ctx.memory.upload('x', x), ctx.memory.upload('g', g), ctx.memory.upload('u', fold ? uUn : lora.u), ctx.memory.upload('B', lora.B)];
  const loraOpt = { u: ub, ldu: lora.ldu, B: bb, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2, uUnscaled: fold };
  return { x, g, xn, w, want: matmulWeightRef(xn, host, M, { bias, lora }), xb, gb, ub, bb, loraOpt };
}

describe('matmul', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const x = normal(c.M + c.N + c.K, c.M * c.K);
      const host = packWeight(c.format ?? 'q4', normal(c.N * c.K + 1, c.N * c.K, 0.05), c.N, c.K);
      const bias = c.bias ? normal(c.N, c.N, 0.1) : undefined;
      const yIn = c.accumulate ? normal(9, c.M * c.N) : null;
      const lora = c.lora ? loraFor(c) : null;
      const w = uploadWeight(ctx, host, 'w', bias);
      const y = await run(ctx, c, w, x, yIn, lora);
      expectClose(y, matmulWeightRef(x, host, c.M, { bias, yIn: yIn ?? undefined, lora: lora ?? undefined }), 1e-5, c.name);
      destroyWeight(ctx, w);
    });
  }

  it('dense f32 GEMV (LoRA u = x·Aᵀ at decode sizes): M = 1, 16 and 21 (a workgroup row per row of x, or two dispatches of ≤ 16 rows), into a wider y; a long K; 1 and 4 steps a trip', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    for (const [N, K, ldy, Ms] of [[45, 136, 50, [1, 16, 21]], [19, 2120, 19, [1, 3]]] as const) {
        const A = normal(31, N * K, 0.2);
      const ab = ctx.memory.upload('A', A);
      for (const M of Ms) {
        const x = normal(32 + M, M * K);
        const xb = ctx.memory.upload('x', x);
        const yb = poisoned(ctx, M * ldy);
        let y: Float32Array = new Float32Array(0);
        for (const [gemvSteps, rowGrid] of [[1, true], [4, true], [1, false], [4, false]] as const) {
          kernel.denseRowGrid = rowGrid;
          y = await runAndRead(ctx, yb, (rec) => kernel.encodeDenseGemv(rec, xb, ab, yb, M, N, K, { ldy, gemvSteps }));
          const got = Float32Array.from({ length: M * N }, (_, i) => y[Math.floor(i / N) * ldy + (i % N)]);
          expectClose(got, matmulRef(x, A, M, N, K), 1e-5, `dense M=${M} steps=${gemvSteps} row grid=${rowGrid}`);
        }
        kernel.denseRowGrid = true; // the default
        for (let m = 0; m < M; m++) for (let n = N; n < ldy; n++) expect(Number.isNaN(y[m * ldy + n]), 'columns past N keep the poison').toBe(true);
        ctx.memory.destroy(xb);
        ctx.memory.destroy(yb);
      }
      ctx.memory.destroy(ab);
    }
  });

  it('GEMV with the SwiGLU fused into its x reads (decode down projection): x = silu(gate)·up of a gate|up pair, both bodies, with the dense LoRA u GEMV', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const [N, K] = [37, 96];
    for (const [M, wide, unrolled, steps] of [[3, false, true, 1], [16, true, true, 1], [5, false, false, 1], [2, true, false, 1], [4, false, true, 4]] as const) {
      kernel.gemvUnrolled = unrolled;
      kernel.gemvSteps = steps;
      const gu = normal(70 + M, M * 2 * K, 2);
      const h = swigluRef(gu, M, K);
      const host = packWeight('q4', normal(71, N * K, 0.05), N, K);
      const w = uploadWeight(ctx, host, 'w');
      const A = normal(72, 8 * K, 0.2);
      const [xb, ab] = [ctx.memory.upload('gu', gu), ctx.memory.upload('A', A)];
      const yb = poisoned(ctx, M * N);
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvWide: wide, xSwiglu: true }));
      expectClose(y, matmulWeightRef(h, host, M), 1e-5, `M=${M} wide=${wide} unrolled=${unrolled} steps=${steps}`);
      const ub = poisoned(ctx, M * 8);
      const u = await runAndRead(ctx, ub, (rec) => kernel.encodeDenseGemv(rec, xb, ab, ub, M, 8, K, { xSwiglu: true }));
      expectClose(u, matmulRef(h, A, M, 8, K), 1e-5, `dense M=${M}`);
      [xb, ab, yb, ub].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    kernel.gemvUnrolled = true;
    kernel.gemvSteps = 1;
    expect(() => kernel.encode(new Recorder(ctx, 't'), ctx.memory.create('x', 16), uploadWeight(ctx, packWeight('q4', normal(1, 8 * 32), 8, 32), 'w'), ctx.memory.create('y', 16), 40, { variant: 'tiled', xSwiglu: true })).toThrow(/GEMV option/);
  });

  it('GEMV with the RMSNorm fused into its x reads (decode q|k|v, gate|up): 4-, 8- and 32-weight steps, NR 1 and 4, bias + LoRA (summed by the lanes from a u without the rsqrt, and in the epilogue), and the dense LoRA u GEMV (with and without the rsqrt); 2 and 4 steps a trip', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const [N, K, eps] = [37, 96, 1e-6];
    for (const [M, wide, rows, steps, step4, fold] of [[1, true, 1, 1, false, true], [3, false, 4, 1, false, true], [16, true, 4, 1, false, true], [7, false, 1, 1, false, true], [2, false, 2, 4, false, true], [1, false, 1, 2, false, true], [8, false, 2, 1, true, true], [16, false, 2, 2, true, true], [8, false, 2, 1, false, false], [3, true, 1, 1, false, false]] as const) {
      kernel.gemvSteps = steps;
      kernel.loraFold = fold;
      const { x, g, xn, w, want, xb, gb, ub, bb, loraOpt } = normProblem(ctx, M, N, K, eps, 80, fold);
      const A = normal(84, 8 * K, 0.2);
      const ab = ctx.memory.upload('A', A);
      const yb = poisoned(ctx, M * N);
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvWide: wide, gemvRows: rows, gemvStep4: step4, xNorm: { w: gb, eps }, lora: loraOpt }));
      expectClose(y, want, 1e-5, `M=${M} wide=${wide} NR=${rows} steps=${steps} step4=${step4} loraFold=${fold}`);
      // the dense u GEMVs at 1, an odd count and 16 rows (each row count is pipelines of its own: CI time)
      if (![1, 7, 16].includes(M) || (M === 16 && !wide)) {
        [xb, gb, ab, ub, bb, yb].forEach((b) => ctx.memory.destroy(b));
        destroyWeight(ctx, w);
        continue;
      }
      const ud = poisoned(ctx, M * 8);
      kernel.denseRowGrid = false; // a dispatch per 16 rows of x, then (below) a workgroup row per row of x
      const u = await runAndRead(ctx, ud, (rec) => kernel.encodeDenseGemv(rec, xb, ab, ud, M, 8, K, { xNorm: { w: gb, eps } }));
      expectClose(u, matmulRef(xn, A, M, 8, K), 1e-5, `dense M=${M}`);
      const u2 = await runAndRead(ctx, ud, (rec) => kernel.encodeDenseGemv(rec, xb, ab, ud, M, 8, K, { xNorm: { w: gb, eps, unscaled: true } }));
      expectClose(u2, matmulRef(x.map((v, i) => v * g[i % K]), A, M, 8, K), 1e-5, `dense x∘g (unscaled) M=${M}`);
      kernel.denseRowGrid = true; // a workgroup row per row of x (the default), normed and not
      expectClose(await runAndRead(ctx, ud, (rec) => kernel.encodeDenseGemv(rec, xb, ab, ud, M, 8, K, { xNorm: { w: gb, eps } })), matmulRef(xn, A, M, 8, K), 1e-5, `dense row grid M=${M}`);
      expectClose(await runAndRead(ctx, ud, (rec) => kernel.encodeDenseGemv(rec, xb, ab, ud, M, 8, K, { xNorm: { w: gb, eps, unscaled: true } })), matmulRef(x.map((v, i) => v * g[i % K]), A, M, 8, K), 1e-5, `dense row grid x∘g M=${M}`);
      [xb, gb, ab, ub, bb, yb, ud].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    kernel.gemvSteps = 1;
    kernel.loraFold = true;
    // a u without the rsqrt only where the GEMV norms x and sums the LoRA term in its lanes
    const w = uploadWeight(ctx, packWeight('q4', normal(85, 8 * 32), 8, 32), 'w');
    const b16 = ctx.memory.create('b', 64);
    const unscaledLora = { u: b16, ldu: 4, B: b16, R: 4, scale: 1, uUnscaled: true };
    expect(() => kernel.encode(new Recorder(ctx, 't'), b16, w, b16, 1, { variant: 'gemv', lora: unscaledLora })).toThrow(/needs xNorm/);
    kernel.loraFold = false;
    expect(kernel.normLoraUnscaled).toBe(false);
    expect(() => kernel.encode(new Recorder(ctx, 't'), b16, w, b16, 1, { variant: 'gemv', lora: unscaledLora, xNorm: { w: b16, eps } })).toThrow(/loraFold false/);
    kernel.loraFold = true;
    expect(kernel.normLoraUnscaled).toBe(true);
    destroyWeight(ctx, w);
    kernel.gemvUnrolled = false;
    const gb = ctx.memory.create('g', 64);
    expect(() => kernel.encodeDenseGemv(new Recorder(ctx, 't'), gb, gb, gb, 1, 2, 16, { xNorm: { w: gb, eps } })).toThrow(/unrolled/);
    kernel.gemvUnrolled = true;
  });

  it('GEMV with the RMSNorm fused and Σx² summed by the workgroup first (the prologue): 1, 9 and 16 rows of x (one and two rounds of 8), 4-, 8- and 32-weight steps, LoRA summed by the lanes and in the epilogue; by default from gemvNormPrologueRows rows', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const [N, K, eps] = [37, 96, 1e-6];
    for (const [M, wide, rows, steps, step4, fold] of [[16, false, 2, 1, true, true], [1, true, 1, 1, false, true], [9, false, 4, 2, false, false]] as const) {
      kernel.gemvSteps = steps;
      kernel.loraFold = fold;
      const { w, want, xb, gb, ub, bb, loraOpt } = normProblem(ctx, M, N, K, eps, 80, fold);
      const yb = poisoned(ctx, M * N);
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvWide: wide, gemvRows: rows, gemvStep4: step4, gemvNormPrologue: true, xNorm: { w: gb, eps }, lora: loraOpt }));
      expectClose(y, want, 1e-5, `prologue M=${M} wide=${wide} NR=${rows} steps=${steps} step4=${step4} loraFold=${fold}`);
      if (M === 9) {
        // the default: from gemvNormPrologueRows rows of x
        kernel.gemvNormPrologueRows = 9;
        const y2 = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvRows: rows, xNorm: { w: gb, eps }, lora: loraOpt }));
        expectClose(y2, want, 1e-5, 'prologue by default');
        kernel.gemvNormPrologueRows = Infinity;
      }
      [xb, gb, ub, bb, yb].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    kernel.gemvSteps = 1;
    kernel.loraFold = true;
  });

  it('row-lane GEMV with the RMSNorm fused (Σx² summed by the workgroup, 256 or 128 threads; at 16 rows of x on a device with 16 KiB of workgroup memory, in rounds: the reduction holds 14 values a thread with 256 threads; 128 threads sum Σx² of 8 rows a round): bias + LoRA summed by the parts from a u without the rsqrt, and in the epilogue; refused for bf16, K % 32 ≠ 0, the fused SwiGLU and too little workgroup memory', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxComputeWorkgroupStorageSize: 16384 } });
    const [N, K, eps] = [45, 128, 1e-6];
    for (const [M, rows, lanes, fold, mem, threads] of [[16, 1, 32, true, small, 256], [16, 2, 8, true, small, 128], [5, 2, 8, false, kernel, 128], [2, 4, 16, true, kernel, 256]] as const) {
      mem.loraFold = fold;
      const { w, want, xb, gb, ub, bb, loraOpt } = normProblem(ctx, M, N, K, eps, 90, fold);
      const yb = poisoned(ctx, M * N);
      const y = await runAndRead(ctx, yb, (rec) => mem.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvRowLane: true, gemvRows: rows, gemvLanes: lanes, gemvThreads: threads, xNorm: { w: gb, eps }, lora: loraOpt }));
      expectClose(y, want, 1e-5, `row-lane M=${M} NR=${rows} RL=${lanes} threads=${threads} loraFold=${fold}`);
      [xb, gb, ub, bb, yb].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    kernel.loraFold = true;
    const b = ctx.memory.create('b', 4096);
    const rec = new Recorder(ctx, 't');
    const bf = uploadWeight(ctx, packWeight('bf16', normal(94, 8 * 64), 8, 64), 'bf');
    const odd = uploadWeight(ctx, packWeight('q4', normal(95, 8 * 72), 8, 72), 'odd');
    const q4 = uploadWeight(ctx, packWeight('q4', normal(96, 8 * 64), 8, 64), 'q4');
    expect(() => kernel.encode(rec, b, bf, b, 4, { variant: 'gemv', gemvRowLane: true })).toThrow(/q4 weights with K a multiple of 32.*; got bf16/);
    expect(() => kernel.encode(rec, b, odd, b, 4, { variant: 'gemv', gemvRowLane: true })).toThrow(/K = 72/);
    expect(() => kernel.encode(rec, b, q4, b, 4, { variant: 'gemv', gemvRowLane: true, xSwiglu: true })).toThrow(/xSwiglu/);
    const tiny = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxComputeWorkgroupStorageSize: 1024 } });
    expect(() => tiny.encode(rec, b, q4, b, 4, { variant: 'gemv', gemvRowLane: true })).toThrow(/1088 bytes of workgroup memory; got q4, K = 64, 1024 bytes/);
    expect(tiny.rowLaneFor(q4, 4, {}, false)).toBeNull(); // by default: the lane-group GEMV there
    [bf, odd, q4].forEach((w) => destroyWeight(ctx, w));
    ctx.memory.destroy(b);
  });

  it('GEMVs storing silu(gate)·up (ySwiglu: a row-lane lane\'s or a lane group\'s two rows are the pair j, j + I): with the RMSNorm fused and not, LoRA summed by the lanes, bias; row-lane with 128 and 256 threads and chunked pairs on a 16 KiB device; lane-group 8-, 4- and 32-weight bodies; swigluOutFor and the refusals', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxComputeWorkgroupStorageSize: 16384 } });
    const [I, K, eps] = [44, 128, 1e-6];
    const N = 2 * I;
    // [rows of x, fused norm, row-lane (else lane-group) lanes, threads, kernel, lane-group body: 4-weight step, wide]
    for (const [M, norm, lanes, threads, mem, step4, wide] of [[8, true, 8, 128, kernel, false, false], [5, false, 16, 256, kernel, false, false], [16, true, 8, 256, small, false, false], [1, true, 0, 0, kernel, false, false], [16, true, 0, 0, kernel, true, false], [3, false, 0, 0, kernel, false, true]] as const) {
      const { x, w, want, xb, gb, ub, bb, loraOpt } = normProblem(ctx, M, N, K, eps, 110, norm);
      // without the norm: the same problem's x as is (its LoRA u then is the plain one: normProblem's with fold = false)
      const gu = norm ? want : matmulWeightRef(x, packWeight('q4', normal(112, N * K, 0.05), N, K), M, { bias: normal(113, N, 0.1), lora: loraFor({ name: '', M, N, K }) });
      const yb = poisoned(ctx, M * I);
      const body = lanes ? { gemvRowLane: true, gemvLanes: lanes, gemvThreads: threads } : { gemvRowLane: false, gemvStep4: step4, gemvWide: wide };
      const y = await runAndRead(ctx, yb, (rec) => mem.encode(rec, xb, w, yb, M, { variant: 'gemv', ...body, ySwiglu: true, xNorm: norm ? { w: gb, eps } : null, lora: loraOpt }));
      expectClose(y, swigluRef(gu, M, I), 1e-5, `swiglu store M=${M} norm=${norm} ${lanes ? `row-lane RL=${lanes} threads=${threads}` : `lane-group step4=${step4} wide=${wide}`}`);
      [xb, gb, ub, bb, yb].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    // when the layer may ask for it: the row-lane GEMV's default rows (decode GEMVs: forced here, SwiftShader takes the tiled kernel), one part, LoRA summed by the lanes
    kernel.variantOverride = 'gemv';
    const fake = (N: number, parts = 1) => ({ format: 'q4', N, K: 1536, parts: Array.from({ length: parts }), codebook: null, bias: null, bytes: 0 }) as unknown as Weight;
    expect([1, 4, 8, 16].map((m) => kernel.swigluOutFor(fake(17920), m))).toEqual([true, true, true, true]);
    expect(kernel.swigluOutFor(fake(17920), 17)).toBe(false); // the tiled kernel's rows
    expect(kernel.swigluOutFor(fake(17920, 2), 8)).toBe(false);
    kernel.swigluStore = false;
    expect(kernel.swigluOutFor(fake(17920), 8)).toBe(false);
    kernel.swigluStore = true;
    kernel.loraFold = false;
    expect(kernel.swigluOutFor(fake(17920), 8)).toBe(false);
    kernel.loraFold = true;
    kernel.variantOverride = null;
    const b = ctx.memory.create('b', 4096);
    const rec = new Recorder(ctx, 't');
    const q4 = uploadWeight(ctx, packWeight('q4', normal(96, 8 * 64), 8, 64), 'q4');
    expect(() => kernel.encode(rec, b, q4, b, 4, { variant: 'gemv', gemvRowLane: true, ySwiglu: true, accumulate: true })).toThrow(/ySwiglu.*accumulate; hint: store gate\|up and run swiglu/);
    kernel.gemvUnrolled = false;
    expect(() => kernel.encode(rec, b, q4, b, 1, { variant: 'gemv', ySwiglu: true })).toThrow(/unrolled bodies; got gemv, loop form; hint: ask MatmulKernel.swigluOutFor/);
    kernel.gemvUnrolled = true;
    [b].forEach((x) => ctx.memory.destroy(x));
    destroyWeight(ctx, q4);
  });

  it('staged GEMV (x in workgroup memory) with the RMSNorm fused (x∘g staged, Σx² summed as it is staged) and LoRA summed by the lanes, storing silu(gate)·up or not; by default up to gemvStagedRows rows of x, at least a lane a row of x; refused for bf16, K % 32 ≠ 0, the fused SwiGLU x, fewer lanes than rows of x and too little workgroup memory', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const eps = 1e-6;
    // [rows of x, N, K, lanes, rows a lane group, gate|up store]
    for (const [M, N, K, lanes, rows, swiglu] of [[1, 45, 128, 4, 2, false], [3, 37, 320, 16, 1, false], [1, 88, 256, 8, 2, true], [2, 88, 96, 32, 2, true]] as const) {
      const { w, want, xb, gb, ub, bb, loraOpt } = normProblem(ctx, M, N, K, eps, 130, true);
      const I = N / 2;
      const yb = poisoned(ctx, M * (swiglu ? I : N));
      const y = await runAndRead(ctx, yb, (rec) => kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', gemvStaged: true, gemvLanes: lanes, gemvRows: swiglu ? undefined : rows, ySwiglu: swiglu || undefined, xNorm: { w: gb, eps }, lora: loraOpt }));
      expectClose(y, swiglu ? swigluRef(want, M, I) : want, 1e-5, `staged norm M=${M} N=${N} K=${K} lanes=${lanes} NR=${rows} swiglu=${swiglu}`);
      [xb, gb, ub, bb, yb].forEach((b) => ctx.memory.destroy(b));
      destroyWeight(ctx, w);
    }
    expect(stagedLanes(17920, 2, 128)).toBe(4); // gate|up: 140 workgroups of 128 rows
    expect(stagedLanes(17920, 2, 512)).toBe(16); // gate|up at the default's 512: 560 workgroups of 32 rows
    expect(stagedLanes(2048, 2, 128)).toBe(32); // q|k|v: 128 workgroups of 16 rows
    expect(stagedLanes(100, 1, 128)).toBe(32); // too few rows for any: 32
    expect([stagedLanes(17920, 2, 128, 5), stagedLanes(17920, 2, 128, 16)]).toEqual([8, 16]); // at least a lane a row of x
    expect(stagedGemvBytes(1, 1536, true)).toBe(1536 * 4 + 8192 + 64 + 1088);
    // the default: up to gemvStagedRows rows of x, unless another body is asked for
    const q4 = uploadWeight(ctx, packWeight('q4', normal(96, 8 * 64), 8, 64), 'q4');
    expect([kernel.gemvStagedRows, kernel.gemvStagedWorkgroups, kernel.gemvStagedMinN]).toEqual([1, 512, 2048]);
    expect(kernel.stagedFor(q4, 1, {}, false)).toBe(false); // 8 rows of W: fewer than gemvStagedMinN
    kernel.gemvStagedMinN = 0;
    expect([1, 2].map((m) => kernel.stagedFor(q4, m, {}, false))).toEqual([true, false]);
    expect(kernel.stagedFor(q4, 1, { gemvRowLane: true }, false)).toBe(false);
    expect(kernel.stagedFor(q4, 1, { gemvStaged: false }, false)).toBe(false);
    kernel.gemvStagedRows = 0;
    expect(kernel.stagedFor(q4, 1, {}, false)).toBe(false);
    const b = ctx.memory.create('b', 4096);
    const rec = new Recorder(ctx, 't');
    const bf = uploadWeight(ctx, packWeight('bf16', normal(94, 8 * 64), 8, 64), 'bf');
    const odd = uploadWeight(ctx, packWeight('q4', normal(95, 8 * 72), 8, 72), 'odd');
    const long = uploadWeight(ctx, packWeight('q4', normal(97, 8 * 2048), 8, 2048), 'long');
    expect(() => kernel.encode(rec, b, bf, b, 1, { variant: 'gemv', gemvStaged: true })).toThrow(/staged GEMV needs q4 weights with K a multiple of 32.*; got bf16/);
    expect(() => kernel.encode(rec, b, odd, b, 1, { variant: 'gemv', gemvStaged: true })).toThrow(/K = 72/);
    expect(() => kernel.encode(rec, b, q4, b, 1, { variant: 'gemv', gemvStaged: true, xSwiglu: true })).toThrow(/xSwiglu/);
    expect(() => kernel.encode(rec, b, q4, b, 1, { variant: 'gemv', gemvStaged: true, gemvLanes: 64 })).toThrow(/gemvLanes must be one of 4, 8, 16, 32, got 64/);
    expect(() => kernel.encode(rec, b, q4, b, 5, { variant: 'gemv', gemvStaged: true, gemvLanes: 4 })).toThrow(/4 lanes a row for 5 rows of x.*hint: gemvLanes 8/);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxComputeWorkgroupStorageSize: 16384 } });
    expect(() => small.encode(rec, b, long, b, 1, { variant: 'gemv', gemvStaged: true })).toThrow(/16448 bytes of workgroup memory; got q4, K = 2048, 16384 bytes; hint/);
    small.gemvStagedRows = 16;
    small.gemvStagedMinN = 0;
    expect(small.stagedFor(long, 1, {}, false)).toBe(false); // by default: another body there
    expect([small.canStage(long, 1, false), small.canStage(q4, 16, false), small.canStage(q4, 1, false, true), kernel.canStage(bf, 1, false)]).toEqual([false, true, false, false]);
    expect(small.stagedFor(q4, 16, {}, false)).toBe(true); // 16 rows of 64 fit
    [bf, odd, q4, long].forEach((wt) => destroyWeight(ctx, wt));
    ctx.memory.destroy(b);
  });

  it('the row-lane GEMV is the default for q4 weights of ≥ ROWLANE_MIN_N rows at gemvRowLaneRows…gemvRowLaneMaxRows rows of x (2 rows a lane, 8 row lanes, 128 threads), unless another GEMV body is asked for', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const fake = (format: WeightFormat, N: number, K: number) => ({ format, N, K, parts: [], codebook: null, bias: null, bytes: 0 }) as Weight;
    const gateUp = fake('q4', 17920, 1536);
    const two = { rows: 2, lanes: 8, threads: 128 };
    expect([1, 3, 4, 8, 9, 16].map((m) => kernel.rowLaneFor(gateUp, m, {}, false))).toEqual([null, null, two, two, null, null]);
    expect(kernel.rowLaneFor(fake('q4', ROWLANE_MIN_N, 1536), 8, {}, true)).toEqual(two); // 512 workgroups of 16 rows
    expect(kernel.rowLaneFor(fake('q4', 4000, 1536), 8, { gemvRowLane: true }, true)).toEqual({ rows: 1, lanes: 8, threads: 128 });
    expect(kernel.rowLaneFor(fake('q4', 2048, 1536), 8, {}, false)).toBeNull(); // q|k|v: the lane-group GEMV
    expect(kernel.rowLaneFor(fake('bf16', 151936, 1536), 8, {}, false)).toBeNull();
    expect(kernel.rowLaneFor(gateUp, 8, { gemvStep4: false }, false)).toBeNull();
    expect(kernel.rowLaneFor(gateUp, 8, { gemvRowLane: false }, false)).toBeNull();
    expect(kernel.rowLaneFor(fake('q4', 100, 64), 1, { gemvRowLane: true }, false)).toEqual(rowLaneLayout(1, 100, 64));
    expect(rowLaneLayout(1, 100, 64)).toEqual({ rows: 1, lanes: 8, threads: 128 });
  });

  it('the 4-weight GEMV step is for q4 and bf16 with the unrolled 8-weight body: refused otherwise; by default from gemvStep4Rows rows (gemvStep4RowsShortK for short rows)', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const q4 = uploadWeight(ctx, packWeight('q4', normal(1, 8 * 64), 8, 64), 'w');
    const bf = uploadWeight(ctx, packWeight('bf16', normal(1, 8 * 64), 8, 64), 'w');
    const i8 = uploadWeight(ctx, packWeight('i8', normal(1, 8 * 64), 8, 64), 'w');
    expect(() => kernel.gemvStep4For(i8, 8, false, true)).toThrow(/needs q4 or bf16 weights/);
    expect(() => kernel.gemvStep4For(q4, 8, true, true)).toThrow(/wide/);
    const long = uploadWeight(ctx, packWeight('q4', normal(2, 8 * (GEMV_SHORT_K + 64)), 8, GEMV_SHORT_K + 64), 'w');
    const before = [kernel.gemvStep4Rows, kernel.gemvStep4RowsShortK];
    [kernel.gemvStep4Rows, kernel.gemvStep4RowsShortK] = [4, 2];
    expect([1, 3, 4, 16].map((m) => kernel.gemvStep4For(long, m, false))).toEqual([false, false, true, true]);
    expect([1, 2, 3, 16].map((m) => kernel.gemvStep4For(q4, m, false))).toEqual([false, true, true, true]); // K = 64: short
    expect([1, 16].map((m) => kernel.gemvStep4For(bf, m, false))).toEqual([false, true]);
    expect(kernel.gemvStep4For(i8, 16, false)).toBe(false);
    [kernel.gemvStep4Rows, kernel.gemvStep4RowsShortK] = before;
    [q4, bf, i8, long].forEach((w) => destroyWeight(ctx, w));
  });

  it('the RMSNorm fused into a GEMV needs 9 storage buffers a shader: not offered, and refused, on a device that allows 8', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    expect(kernel.normFusable).toBe(ctx.limits.maxStorageBuffersPerShaderStage >= 9);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxStorageBuffersPerShaderStage: 8 } });
    expect(small.normFusable).toBe(false);
    const w = uploadWeight(ctx, packWeight('q4', normal(1, 8 * 64), 8, 64), 'w');
    const b = ctx.memory.create('xy', 64 * 4);
    expect(() => small.encode(new Recorder(ctx, 't'), b, w, b, 1, { variant: 'gemv', xNorm: { w: b, eps: 1e-6 } })).toThrow(/9 storage buffers a shader \(device: 8\)/);
    expect(() => small.encodeDenseGemv(new Recorder(ctx, 't'), b, b, b, 1, 8, 8, { xNorm: { w: b, eps: 1e-6 } })).toThrow(/hint: run rmsnorm first/);
    destroyWeight(ctx, w);
    ctx.memory.destroy(b);
  });

  it('a decode GEMV copies its stored rows to the training layout (save: row base + pos·stride, a row < 0 skipped), with accumulate + LoRA, 8- and 4-weight steps and the row-lane body; refused by the tiled kernel and on a device with 10 storage buffers', async () => {
    const ctx = await testGpu();
    const [M, N, K] = [5, 37, 160];
    const host = packWeight('q4', normal(41, N * K, 0.05), N, K);
    const w = uploadWeight(ctx, host, 'w');
    const x = normal(42, M * K);
    const yIn = normal(43, M * N);
    const lora = loraFor({ name: '', M, N, K, lora: true });
    const want = matmulWeightRef(x, host, M, { yIn, lora });
    const pos = Int32Array.from([3, 0, 7, 2, 1]);
    const map = Int32Array.from([1, 2, 0, 1, -50, 1, 20, -3, 4, 1]); // rows 7, 0, skipped (−43), 14, 5
    const D = 16;
    const kernel = await MatmulKernel.create(ctx);
    expect(kernel.saveFusable).toBe(ctx.limits.maxStorageBuffersPerShaderStage >= 11);
    const bufs = { x: ctx.memory.upload('x', x), u: ctx.memory.upload('u', lora.u), B: ctx.memory.upload('B', lora.B), pos: ctx.memory.upload('pos', pos), map: ctx.memory.upload('map', map) };
    for (const [gemvStep4, gemvRowLane] of [[false, false], [true, false], [undefined, true]] as const) {
      const y = ctx.memory.upload('y', yIn);
      const dst = poisoned(ctx, D * N, 'dst');
      const loraOpt = { u: bufs.u, ldu: lora.ldu, B: bufs.B, R: lora.R, scale: lora.scale, slice1: lora.slice1, slice2: lora.slice2 };
      const got = await runAndRead(ctx, dst, (rec) => kernel.encode(rec, bufs.x, w, y, M, { variant: 'gemv', accumulate: true, lora: loraOpt, gemvStep4, gemvRowLane, save: { pos: bufs.pos, map: bufs.map, dst } }));
      expectClose(await readF32(ctx.device, y, M * N), want, 1e-5, `y, 4-weight steps ${gemvStep4}, row-lane ${gemvRowLane}`);
      for (let m = 0; m < M; m++) {
        const row = map[2 * m] + pos[m] * map[2 * m + 1];
        if (row >= 0) expectClose(got.subarray(row * N, (row + 1) * N), want.subarray(m * N, (m + 1) * N), 1e-5, `saved row ${m} → ${row}`);
      }
      expect(got.filter((v) => !Number.isNaN(v)).length).toBe(4 * N); // nothing else written
      ctx.memory.destroy(y);
      ctx.memory.destroy(dst);
    }
    const save = { pos: bufs.pos, map: bufs.map, dst: bufs.x };
    expect(() => kernel.encode(new Recorder(ctx, 't'), bufs.x, w, bufs.u, M, { variant: 'tiled', save })).toThrow(/save/);
    const small = await MatmulKernel.create({ ...ctx, limits: { ...ctx.limits, maxStorageBuffersPerShaderStage: 10 } });
    expect(small.saveFusable).toBe(false);
    expect(() => small.encode(new Recorder(ctx, 't'), bufs.x, w, bufs.u, M, { variant: 'gemv', save })).toThrow(/11 storage buffers/);
    Object.values(bufs).forEach((b) => ctx.memory.destroy(b));
    destroyWeight(ctx, w);
  });

  it('GEMV lanes per row: each lane walks ≤ 16 groups of 8 weights, 32…256 lanes', () => {
    expect([8, 1536, 2048, 2056, 4096, 8192, 8960, 1 << 20].map((K) => gemvLanesFor(K))).toEqual([32, 32, 32, 32, 32, 64, 128, 256]);
  });

  it('a wide GEMV is refused for weights it cannot read: bf16, or K not a multiple of 32', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const bf = uploadWeight(ctx, packWeight('bf16', normal(1, 4 * 64), 4, 64), 'w');
    const odd = uploadWeight(ctx, packWeight('q4', normal(1, 4 * 72), 4, 72), 'w');
    expect(() => kernel.gemvWide(bf, true)).toThrow(/bf16, K = 64/);
    expect(() => kernel.gemvWide(odd, true)).toThrow(/q4, K = 72/);
    expect([kernel.gemvWide(bf), kernel.gemvWide(odd)]).toEqual([false, false]);
    const q4 = uploadWeight(ctx, packWeight('q4', normal(1, 4 * 64), 4, 64), 'w');
    expect(kernel.gemvWide(q4)).toBe(false); // not by default (H100: 2× slower at M = 1)
    [bf, odd, q4].forEach((wt) => destroyWeight(ctx, wt));
  });

  it('GEMV layout: 2 rows per lane group (1 for N < 256), lanes walking ≤ 16 steps, raised until ≥ 128 workgroups; the same at every M', () => {
    const qwen = { qkv: [2048, 1536], o: [1536, 1536], gateUp: [17920, 1536], down: [1536, 8960], lmHead: [151936, 1536] };
    const at = (M: number) => Object.fromEntries(Object.entries(qwen).map(([k, [N, K]]) => [k, gemvLayout(M, N, K)]));
    expect(at(1)).toEqual(at(8));
    expect(at(8)).toEqual({ qkv: { rows: 2, lanes: 32 }, o: { rows: 2, lanes: 64 }, gateUp: { rows: 2, lanes: 32 }, down: { rows: 2, lanes: 128 }, lmHead: { rows: 2, lanes: 32 } });
    expect(gemvLayout(3, 45, 136)).toEqual({ rows: 1, lanes: 32 }); // tiny N would want 256, but a row has 17 steps
    expect(gemvLayout(16, 48, 1536)).toEqual({ rows: 1, lanes: 256 }); // the LoRA u of q|k|v at r = 16: every row apart
    // the 4-weight step: at least 64 lanes, never past a row's K/4 steps
    expect(gemvLayout(16, 17920, 1536, 8, true)).toEqual({ rows: 2, lanes: 64 });
    expect(gemvLayout(16, 1536, 8960, 8, true)).toEqual({ rows: 2, lanes: 128 });
    expect(gemvLayout(16, 45, 136, 8, true)).toEqual({ rows: 1, lanes: 64 });
    expect(gemvLayout(16, 512, 1536)).toEqual({ rows: 2, lanes: 128 });
    // the wide q4 GEMV walks 32 weights a step: lanes never past a row's K/32 steps
    expect(gemvLayout(1, 2048, 1536, 32)).toEqual({ rows: 2, lanes: 32 });
    expect(gemvLayout(8, 1536, 1536, 32)).toEqual({ rows: 2, lanes: 64 });
    expect(gemvLayout(1, 1536, 8960, 32)).toEqual({ rows: 2, lanes: 64 });
  });

  it('GEMV row reduction through workgroup memory (no subgroups), 1 and 4 rows per lane group, 32 and 256 lanes, 8- and 32-weight steps', async () => {
    const ctx = await testGpu(['subgroups']);
    expect(ctx.features.subgroups).toBe(false);
    for (const [gemvRows, gemvLanes, K] of [[1, 32, 2056], [4, 32, 2056], [2, 256, 2056], [4, 64, 2048]]) {
      const c: Case = { name: `shared reduction NR=${gemvRows} LANES=${gemvLanes} K=${K}`, M: 9, N: 45, K, variant: 'gemv', bias: true, accumulate: true, lora: true, gemvRows, gemvLanes };
      const x = normal(21, c.M * c.K);
      const host = packWeight('q4', normal(22, c.N * c.K, 0.05), c.N, c.K);
      const bias = normal(23, c.N, 0.1);
      const yIn = normal(24, c.M * c.N);
      const lora = loraFor(c);
      const w = uploadWeight(ctx, host, 'w', bias);
      expectClose(await run(ctx, c, w, x, yIn, lora), matmulWeightRef(x, host, c.M, { bias, yIn, lora }), 1e-5, c.name);
      destroyWeight(ctx, w);
    }
  });

  for (const format of ['q4', 'bf16', 'i8'] as const) {
    it(`splits a ${format} weight larger than the binding limit into row parts`, async () => {
      const ctx = await testGpu();
      const [M, N, K] = [3, 300, 128];
      const x = normal(5, M * K);
      const host = packWeight(format, normal(6, N * K, 0.05), N, K);
      const bias = normal(7, N, 0.1);
      const perRow = format === 'q4' ? K / 2 : format === 'bf16' ? 2 * K : K;
      const w = uploadWeight(ctx, host, 'w', bias, 64 * perRow); // 64 rows per part → 5 parts
      expect(w.parts.map((p) => p.rows)).toEqual([64, 64, 64, 64, 44]);
      const lora = loraFor({ name: '', M, N, K });
      for (const [variant, gemvRows] of [['gemv', 1], ['gemv', 4], ['tiled', undefined]] as const) {
        const c: Case = { name: `split ${format} ${variant}${gemvRows ? ` NR=${gemvRows}` : ''}`, M, N, K, variant, lora: true, gemvRows };
        const y = await run(ctx, c, w, x, null, lora);
        expectClose(y, matmulWeightRef(x, host, M, { bias, lora }), 1e-5, c.name);
      }
      // and split-K in each part (tiled, no LoRA: 3 chunks of K, each part's partials summed into its columns)
      const yIn = normal(8, M * N);
      const c: Case = { name: `split ${format} tiled split-K`, M, N, K, variant: 'tiled', accumulate: true, splitK: 3 };
      expectClose(await run(ctx, c, w, x, yIn, null), matmulWeightRef(x, host, M, { bias, yIn }), 1e-5, c.name);
      destroyWeight(ctx, w);
    });
  }

  it('split-K chunks: about splitWorkgroups workgroups for a grid under half that, ≥ 8 steps a chunk, within the scratch; a requested count capped by the scratch and the steps', async () => {
    const kernel = await MatmulKernel.create(await testGpu());
    const scratch = (floats: number) => ({ size: floats * 4 }) as GPUBuffer;
    const big = scratch(1 << 26);
    // training's shapes at 2,168 rows (128-row tiles): o forward 24 × 17 workgroups, 96 steps; gate|up's transposed 24 × 17, 1,120 steps
    expect(kernel.splitsFor([24, 17], 96, 2168 * 1536, { scratch: big })).toBe(4);
    expect(kernel.splitsFor([24, 17], 1120, 2168 * 1536, { scratch: big })).toBe(4);
    expect(kernel.splitsFor([32, 17], 96, 2168 * 2048, { scratch: big })).toBe(3);
    expect(kernel.splitsFor([280, 17], 96, 2168 * 17920, { scratch: big })).toBe(1); // gate|up forward: grid large enough
    expect(kernel.splitsFor([24, 17], 16, 2168 * 1536, { scratch: big })).toBe(2); // chunks of ≥ 8 steps
    expect(kernel.splitsFor([24, 17], 96, 1000, { scratch: scratch(2500) })).toBe(2); // what the scratch holds
    expect(kernel.splitsFor([24, 17], 96, 1000, { scratch: scratch(500) })).toBe(1);
    expect(kernel.splitsFor([1, 1], 5, 100, { scratch: big, splits: 7 })).toBe(5);
    kernel.splitWorkgroups = 0;
    expect(kernel.splitsFor([24, 17], 96, 2168 * 1536, { scratch: big })).toBe(1);
  });

  it("the GEMVs' reduction array: none for row sums whose lanes fit a subgroup, 256 floats a row of x for Σx² by the workgroup (8 rows a round), 2048 for reduce_rows or rows spanning subgroups, or when not sized", async () => {
    const kernel = await MatmulKernel.create(await testGpu());
    expect(kernel.gemvRedFloats(1, 16, 32, false)).toBe(16); // the staged gate|up at one row, no norm: nothing read
    expect(kernel.gemvRedFloats(1, 16, 32, true)).toBe(256); // … with its norm's Σx²
    expect(kernel.gemvRedFloats(8, 32, 32, true)).toBe(2048);
    expect(kernel.gemvRedFloats(16, 32, 32, true)).toBe(2048); // two rounds of 8 rows
    expect(kernel.gemvRedFloats(1, 64, 32, false)).toBe(2048); // a row over two subgroups
    expect(kernel.gemvRedFloats(1, 16, 0, false)).toBe(2048); // reduce_rows (subgroup width not fixed)
    expect(kernel.gemvRedFloats(1, 16, 32, false, false)).toBe(2048);
    kernel.gemvRedSized = false;
    expect(kernel.gemvRedFloats(1, 16, 32, false)).toBe(2048);
  });

  it('quantization error of NF4 on Gaussian weights is within the stated bound', () => {
    // Stated bound: for N(0, σ²) weights in blocks of 64, NF4 with absmax scales has a relative
    // RMS weight error below 12% (measured ≈ 10%); the f16 scale adds < 0.05%.
    const [N, K] = [64, 1536];
    const w = normal(11, N * K, 0.02);
    const q = quantizeQ4(w, N, K, NF4_CODEBOOK);
    expect(relError(dequantizeQ4(q), w).rel).toBeLessThan(0.12);
    const x = normal(12, 4 * K);
    const e = relError(matmulRef(x, dequantizeQ4(q), 4, N, K), matmulRef(x, w, 4, N, K));
    expect(e.rel).toBeLessThan(0.12);
    // bf16 is exact for bf16 values; i8 per-row error is far below NF4's
    const i8 = packWeight('i8', w, N, K);
    expect(relError(matmulWeightRef(x, i8, 4), matmulRef(x, w, 4, N, K)).rel).toBeLessThan(0.02);
  });
});
