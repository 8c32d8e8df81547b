// The decode GEMVs streamed: a decode step runs each GEMV after the one it depends on, so a GEMV's
// GPU time there is mostly a dispatch's ramp-up and drain, not its bytes. Here the same GEMV runs
// for every one of a model's layers in one pass, each writing its own output (no dependency, so no
// barrier between them and the dispatches overlap) — the bandwidth the kernel reaches when it is
// not waiting on the one before — next to the copy kernel moving the same bytes the same way (each
// weight's codes copied to a buffer of its own) and the 64 MiB copy (issue #9.3's roofline); or, for
// the L2 sweep, every dispatch reading one weight. Every body's result is checked against the first
// body's (a line says where they differ).
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { CopyKernel } from '../../kernels/copy';
import { destroyWeight, uploadWeight, type MatmulKernel, type MatmulOptions, type Weight } from '../../kernels/matmul';
import { copyRoofline } from './gemv-cold';
import { GpuTimer } from './gpu-timer';
import { readF32 } from '../../gpu/buffers';
import { quantizeQ4Fast } from './weights';
import { f32ToF16Bits } from '../../formats/q4';

/** x [M, K] as f16 pairs in f32 words: the x of a GEMV with MatmulOptions.gemvX16 (M·K even). */
export function f16Pairs(x: Float32Array): Float32Array {
  return new Float32Array(Uint16Array.from(x, (v) => f32ToF16Bits(v)).buffer);
}

export interface StreamGemvRow {
  name: string;
  /** which GEMV body (StreamVariant.name) */
  variant: string;
  M: number;
  N: number;
  K: number;
  /** weights in the pass (a model's layers) */
  count: number;
  /** bytes each GEMV reads and writes (codes, scales, x, y) */
  bytes: number;
  /** GPU ms of the pass / count */
  msEach: number;
  gbps: number;
  /** of the 64 MiB copy's GPU-timed bandwidth (read + write) */
  pctCopy: number;
  /** the same pass of copies (each weight's codes to their own buffer): GB/s, read + write */
  copyStreamGbps: number;
  /** the GEMVs' bandwidth over that copy stream's */
  pctCopyStream: number;
  /** largest |y − y of the first body| over the largest |y| (weight 0): 0 for the first body */
  maxDiff: number;
  /** bodies with f16 inputs or products (MatmulOptions.gemvX16, gemvMma) are compared within 5e-3 instead of 1e-4 */
  f16?: boolean;
}

/**
 * A GEMV body the stream times: its name, the options that pick it, and at which rows of x (all of them
 * if absent); `hot`: every dispatch of the pass reads the same weight (in L2 after the first: a
 * 17,920 × 1,536 q4 weight is 14.6 MB of a 50 MB L2) instead of one weight a layer.
 */
export interface StreamVariant { name: string; opts: MatmulOptions; Ms?: number[]; hot?: boolean }

/**
 * The bodies the stream times by default: the kernel's choice without the staged GEMV (lane-group, or
 * row-lane at 4–8 rows of x), and the staged GEMV (x in workgroup memory) at one row of x with its
 * layout and 8, 16, 32 lanes a row.
 */
export const STREAM_VARIANTS: StreamVariant[] = [
  { name: 'lane-group', opts: { gemvStaged: false } },
  { name: 'staged', opts: { gemvStaged: true }, Ms: [1] },
  ...[8, 16, 32].map((l) => ({ name: `staged, ${l} lanes`, opts: { gemvStaged: true, gemvLanes: l }, Ms: [1] })),
];

/**
 * The many-row sweep (bench --stream --stream-set rows): at 8 and 16 rows of x, the lane-group GEMV
 * with and without the 4-weight step, every row-lane layout (rows a lane × row lanes × threads) and
 * the tiled matmul — which body keeps the f32 multiply-adds busiest when no dispatch waits on another.
 */
export const STREAM_ROWS_VARIANTS: StreamVariant[] = [
  { name: 'lane-group', opts: { gemvStaged: false } },
  { name: 'lane-group, 8-weight step', opts: { gemvStaged: false, gemvStep4: false } },
  { name: 'lane-group, 4-weight step', opts: { gemvStaged: false, gemvStep4: true } },
  ...[1, 2, 4].flatMap((r) => [8, 16, 32].flatMap((l) => [128, 256].map((t) => ({ name: `row-lane ${r}×${l}, ${t} threads`, opts: { gemvStaged: false, gemvRowLane: true, gemvRows: r, gemvLanes: l, gemvThreads: t } })))),
  { name: 'tiled', opts: { variant: 'tiled' } },
];

/**
 * The f16 sweep (bench --stream --stream-set f16, shader-f16 only): at 8 and 16 rows, the engine's
 * f32 lane-group GEMV (and its 4-weight step) against the GEMV reading f16 x and summing its products
 * in f16 (MatmulOptions.gemvX16) at its default layout and each rows a lane group × lanes.
 */
export const STREAM_F16_VARIANTS: StreamVariant[] = [
  { name: 'lane-group', opts: { gemvStaged: false } },
  { name: 'lane-group, 4-weight step', opts: { gemvStaged: false, gemvStep4: true } },
  { name: 'f16 x16', opts: { gemvStaged: false, gemvX16: true } },
  ...[1, 2, 4].flatMap((r) => [32, 64].map((l) => ({ name: `f16 x16 NR=${r} LANES=${l}`, opts: { gemvStaged: false, gemvX16: true, gemvRows: r, gemvLanes: l } as MatmulOptions }))),
];

/**
 * The subgroup-matrix sweep (bench --stream --stream-set mma; devices with 16×16×16 f16 subgroup
 * matrices): the engine's f32 and f16-x GEMVs against the subgroup-matrix matmul (matmul_mma.ts) at its
 * default layout, each tile count a workgroup, the table decode, the shuffle decode in loops, loads two trips ahead or at each trip's start,
 * 128-thread workgroups, and where its time goes.
 */
export const STREAM_MMA_VARIANTS: StreamVariant[] = [
  { name: 'lane-group', opts: { gemvStaged: false } },
  { name: 'f16 x16', opts: { gemvStaged: false, gemvX16: true } },
  { name: 'mma', opts: { gemvMma: true } },
  ...[1, 2, 4].map((t) => ({ name: `mma NT=${t}`, opts: { gemvMma: true, mmaTiles: t } as MatmulOptions })),
  ...[1, 2].map((t) => ({ name: `mma NT=${t} table decode`, opts: { gemvMma: true, mmaTiles: t, mmaDecode: 0 } as MatmulOptions })),
  ...[1, 2].map((t) => ({ name: `mma NT=${t} 2 trips ahead`, opts: { gemvMma: true, mmaTiles: t, mmaPrefetch: 2 } as MatmulOptions })),
  ...[1, 2].map((t) => ({ name: `mma NT=${t} decode in loops`, opts: { gemvMma: true, mmaTiles: t, mmaDecode: 1 } as MatmulOptions })),
  ...[1, 2].map((t) => ({ name: `mma NT=${t} loads at the trip start`, opts: { gemvMma: true, mmaTiles: t, mmaPrefetch: 0 } as MatmulOptions })),
  ...[1, 2].map((t) => ({ name: `mma NT=${t} serial`, opts: { gemvMma: true, mmaTiles: t, mmaSerial: true } as MatmulOptions })),
  // less workgroup memory, so more workgroups an SM: 32-weight chunks, the results added a subgroup a round
  ...[1, 2].map((t) => ({ name: `mma NT=${t} KC=32 rounds`, opts: { gemvMma: true, mmaTiles: t, mmaChunk: 32, mmaRounds: 2 } as MatmulOptions })),
  { name: 'mma NT=2 KC=32', opts: { gemvMma: true, mmaTiles: 2, mmaChunk: 32, mmaRounds: 0 } },
  // 128-thread workgroups (4 subgroups, two rows of x a thread): more workgroups an SM if registers held them to one
  { name: 'mma 128 threads', opts: { gemvMma: true, mmaSubgroups: 4 } },
  ...[1, 2, 4].map((t) => ({ name: `mma NT=${t} 128 threads`, opts: { gemvMma: true, mmaTiles: t, mmaSubgroups: 4 } as MatmulOptions })),
  { name: 'mma NT=1 128 threads KC=32 rounds', opts: { gemvMma: true, mmaTiles: 1, mmaSubgroups: 4, mmaChunk: 32, mmaRounds: 2 } },
  // where its time goes (wrong results, not compared): without the products, without decoding W, neither
  { name: 'mma NT=2 no products', opts: { gemvMma: true, mmaTiles: 2, mmaDebug: 1 } },
  { name: 'mma NT=2 no decode', opts: { gemvMma: true, mmaTiles: 2, mmaDebug: 2 } },
  { name: 'mma NT=2 neither', opts: { gemvMma: true, mmaTiles: 2, mmaDebug: 3 } },
];

/**
 * The reduction-array sweep (bench --stream --stream-set red): the lane-group and staged GEMVs with the
 * row reduction's workgroup array sized to its use (MatmulKernel.gemvRedSized) and at 8 KiB always —
 * whether the 8 KiB, unread where a row's lanes fit one subgroup, still cost workgroups an SM.
 */
export const STREAM_RED_VARIANTS: StreamVariant[] = [
  { name: 'lane-group, red 8 KiB', opts: { gemvStaged: false, gemvRedSized: false } },
  { name: 'lane-group, red sized', opts: { gemvStaged: false, gemvRedSized: true } },
  { name: 'staged, red 8 KiB', opts: { gemvStaged: true, gemvRedSized: false }, Ms: [1] },
  { name: 'staged, red sized', opts: { gemvStaged: true, gemvRedSized: true }, Ms: [1] },
  ...[8, 32].flatMap((l) => [false, true].map((r) => ({ name: `staged, ${l} lanes, red ${r ? 'sized' : '8 KiB'}`, opts: { gemvStaged: true, gemvLanes: l, gemvRedSized: r }, Ms: [1] }))),
];

/**
 * The L2 sweep (bench --stream --stream-set l2): the engine's one-row bodies (staged, lane-group) with
 * each layer's weight from memory, then with one weight read by every dispatch (from L2) — how much a
 * GEMV gains where its weights are in L2 (H100, twenty-ninth session: ~10%; gate|up staged 15.0 → 13.4 µs).
 */
export const STREAM_L2_VARIANTS: StreamVariant[] = [
  { name: 'lane-group', opts: { gemvStaged: false } },
  { name: 'lane-group, weights in L2', opts: { gemvStaged: false }, hot: true },
  { name: 'staged', opts: { gemvStaged: true }, Ms: [1] },
  { name: 'staged, weights in L2', opts: { gemvStaged: true }, Ms: [1], hot: true },
];

/** Qwen2.5-1.5B's decode GEMVs: [name, N, K] */
export const STREAM_SHAPES: Array<[string, number, number]> = [['q|k|v', 2048, 1536], ['o', 1536, 1536], ['gate|up', 17920, 1536], ['down', 1536, 8960]];

/**
 * Each shape's GEMV at each M, by each variant that can run it (one whose options the kernel refuses
 * for a shape is left out), for `count` distinct weights in one GPU-timed pass (median of 5); null
 * without timestamp-query.
 */
export async function benchGemvStream(ctx: GpuContext, kernel: MatmulKernel, shapes: Array<[string, number, number]>, Ms: number[], count: number, variants: StreamVariant[] = STREAM_VARIANTS): Promise<{ copyGbps: number; rows: StreamGemvRow[] } | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const m = ctx.memory;
  try {
    const copyK = await CopyKernel.create(ctx);
    const { ms: copyMs, gbps: copyGbps } = await copyRoofline(ctx, timer, copyK);
    console.log(`  copy 64 MiB: GPU ${copyMs.toFixed(4)} ms = ${copyGbps.toFixed(0)} GB/s`);
    const rows: StreamGemvRow[] = [];
    if (!ctx.features.f16) variants = variants.filter((v) => !v.opts.gemvX16);
    for (const [name, N, K] of shapes) {
      const q = quantizeQ4Fast(N, K, N * 5 + K);
      const ws: Weight[] = Array.from({ length: count }, (_, i) => uploadWeight(ctx, { format: 'q4', N, K, q }, `stream.${name}.${i}`));
      const codes = Math.floor(ws[0].parts[0].data.size / 16) * 4; // f32 words the copy moves (multiples of 4)
      const dsts = ws.map((_, i) => m.create(`stream.copy.${i}`, codes * 4));
      const [copiesMs] = await timer.median([(rec: Recorder) => ws.forEach((w, i) => copyK.encode(rec, w.parts[0].data, dsts[i], codes))], 5);
      dsts.forEach((d) => m.destroy(d));
      const copyStreamGbps = (2 * codes * 4 * count) / (copiesMs * 1e6);
      for (const M of Ms) {
        const xf = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37));
        const x = m.upload('stream.x', xf);
        const x16 = m.upload('stream.x16', f16Pairs(xf));
        const ys = ws.map((_, i) => m.create(`stream.y.${i}`, M * N * 4));
        let first: Float32Array | null = null; // the first body's y of weight 0: every other body's must match it
        for (const v of variants.filter((v) => !v.Ms || v.Ms.includes(M))) {
          let ms: number;
          try {
            const xv = v.opts.gemvX16 ? x16 : x;
            [ms] = await timer.median([(rec: Recorder) => ws.forEach((w, i) => kernel.encode(rec, xv, v.hot ? ws[0] : w, ys[i], M, { variant: 'gemv', ...v.opts }))], 5);
          } catch (e) {
            console.log(`  streamed q4 ${name} M=${M}, ${v.name}: not run (${(e as Error).message.slice(0, 120)})`);
            continue;
          }
          const y0 = await readF32(ctx.device, ys[0], M * N);
          let worst = 0;
          let scale = 0;
          if (first) for (let i = 0; i < y0.length; i++) { worst = Math.max(worst, Math.abs(y0[i] - first[i])); scale = Math.max(scale, Math.abs(first[i])); }
          else first = y0;
          const f16 = !!v.opts.gemvX16 || !!v.opts.gemvMma;
          if (v.opts.mmaDebug) worst = 0; // a benchmark-only variant that computes the wrong thing
          const differs = !(worst <= (f16 ? 5e-3 : 1e-4) * Math.max(scale, 1e-6));
          const bytes = ws[0].bytes + M * K * 4 + M * N * 4;
          const gbps = (bytes * count) / (ms * 1e6);
          const r: StreamGemvRow = { name, variant: v.name, M, N, K, count, bytes, msEach: ms / count, gbps, pctCopy: (100 * gbps) / copyGbps, copyStreamGbps, pctCopyStream: (100 * gbps) / copyStreamGbps, maxDiff: worst / Math.max(scale, 1e-30), ...(f16 ? { f16 } : {}) };
          if (differs) console.log(`  streamed q4 ${name} M=${M} (${v.name}): RESULT DIFFERS from ${variants[0].name}'s by ${worst.toExponential(2)} (largest |y| ${scale.toExponential(2)})`);
          rows.push(r);
          console.log(`  streamed q4 ${name} M=${M} ${N}×${K} (${v.name}), ${count} weights in one pass: ${r.msEach.toFixed(4)} ms each = ${gbps.toFixed(0)} GB/s (${r.pctCopy.toFixed(0)}% of the 64 MiB copy; the same bytes copied the same way ${copyStreamGbps.toFixed(0)} GB/s: ${r.pctCopyStream.toFixed(0)}%)`);
        }
        m.destroy(x);
        m.destroy(x16);
        ys.forEach((y) => m.destroy(y));
      }
      ws.forEach((w) => destroyWeight(ctx, w));
    }
    return { copyGbps, rows };
  } finally {
    timer.destroy();
  }
}
