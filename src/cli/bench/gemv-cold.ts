// The decode GEMVs as a decode step meets them: weights not in the L2 cache (the step streams 0.9 GB
// of them; `bench`'s other timings repeat one weight, which then sits in L2), timed on the GPU
// (GpuTimer: the kernel alone, one pass each) and back to back in one pass (what a step pays per
// dispatch, the gaps included). Bandwidth against the copy kernel's, timed the same ways (issue #9.3).
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { CopyKernel } from '../../kernels/copy';
import { GEMV_LANES_OPTIONS, GEMV_ROWS_OPTIONS, GEMV_STEPS_OPTIONS, MatmulKernel, destroyWeight, uploadWeight, type Weight } from '../../kernels/matmul';
import { ROWLANE_LANES_OPTIONS } from '../../kernels/gemv_rowlane';
import { GpuTimer, median } from './gpu-timer';
import { timeKernel } from './timing';
import { quantizeQ4Fast } from './weights';

export interface ColdGemvResult {
  M: number;
  N: number;
  K: number;
  /** rows per lane group, lanes per row, lane steps per loop trip, row sums by reduce_rows() (-rr) or reduce-scatter */
  layout: string;
  /** bytes a dispatch reads and writes (weights, scales, x, y) */
  bytes: number;
  /** GPU time of one dispatch (median over the weight copies and repeats) */
  gpuMs: number;
  gpuGbps: number;
  /** of the copy kernel's GPU-timed bandwidth */
  gpuPctCopy: number;
  /** per dispatch, all the copies' dispatches back to back in one pass (wall time of the submission) */
  seqMs: number;
  seqGbps: number;
}

export interface ColdGemvReport {
  copyGpuGbps: number;
  copyWallGbps: number;
  copies: Record<string, number>;
  /** per shape: GPU ms of a copy of the weight's bytes (rotating like the GEMVs), and of a 16-byte copy (a dispatch's floor) */
  sameBytesCopyMs: Record<string, number>;
  tinyCopyMs: number;
  rows: ColdGemvResult[];
}

/** GPU ms (median of 9) of the copy kernel moving 64 MiB, and its bandwidth in GB/s counting reads and writes: the roofline of #9.3. */
export async function copyRoofline(ctx: GpuContext, timer: GpuTimer, copyK: CopyKernel): Promise<{ ms: number; gbps: number }> {
  const n = 64 << 20;
  const [a, b] = [ctx.memory.create('copy64.src', n), ctx.memory.create('copy64.dst', n)];
  try {
    const [ms] = await timer.median([(rec) => copyK.encode(rec, a, b, n / 4)], 9);
    return { ms, gbps: (2 * n) / (ms * 1e6) };
  } finally {
    ctx.memory.destroy(a);
    ctx.memory.destroy(b);
  }
}

/** Weight bytes to rotate through, so no dispatch finds its weight in L2 (50 MB on H100/H200). */
const ROTATE_BYTES = 160 << 20;

/**
 * `sweep`: true, every lane-group layout near the default and every steps per trip; 'rowlane', the
 * default and every row-lane layout (gemv_rowlane.ts: row lanes × rows a lane); false, the default only.
 */
export async function benchGemvCold(ctx: GpuContext, kernel: MatmulKernel, shapes: Array<[number, number]>, Ms: number[], sweep: boolean | 'rowlane', rotateBytes = ROTATE_BYTES): Promise<ColdGemvReport | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) {
    console.log('  cold GEMV: skipped (no timestamp-query on this device)');
    return null;
  }
  try {
    const copyK = await CopyKernel.create(ctx);
    const n = 64 << 20;
    const { ms: copyMs, gbps: copyGpuGbps } = await copyRoofline(ctx, timer, copyK);
    const a = ctx.memory.create('cold.copy.src', n);
    const b = ctx.memory.create('cold.copy.dst', n);
    const wall = await timeKernel(ctx, (rec) => copyK.encode(rec, a, b, n / 4));
    ctx.memory.destroy(a);
    ctx.memory.destroy(b);
    const copyWallGbps = (2 * n) / (wall.ms * 1e6);
    console.log(`  copy 64 MiB: GPU time ${copyMs.toFixed(4)} ms = ${copyGpuGbps.toFixed(0)} GB/s (wall, back to back: ${copyWallGbps.toFixed(0)} GB/s)`);
    const [t0, t1] = [ctx.memory.create('cold.tiny.src', 16), ctx.memory.create('cold.tiny.dst', 16)];
    const [tinyCopyMs] = await timer.median([(rec) => copyK.encode(rec, t0, t1, 4)], 9);
    ctx.memory.destroy(t0);
    ctx.memory.destroy(t1);
    console.log(`  copy of 16 bytes (one dispatch's floor): GPU time ${tinyCopyMs.toFixed(4)} ms`);
    const rows: ColdGemvResult[] = [];
    const copies: Record<string, number> = {};
    const sameBytesCopyMs: Record<string, number> = {};
    for (const [N, K] of shapes) {
      const q = quantizeQ4Fast(N, K, N * 3 + K);
      const first = uploadWeight(ctx, { format: 'q4', N, K, q }, `cold${N}x${K}.0`);
      const C = Math.max(2, Math.ceil(rotateBytes / first.bytes));
      const ws: Weight[] = [first];
      for (let c = 1; c < C; c++) ws.push(uploadWeight(ctx, { format: 'q4', N, K, q }, `cold${N}x${K}.${c}`));
      copies[`${N}x${K}`] = C;
      { // a copy of as many bytes as the weight, source rotating through the copies as the GEMVs do
        const words = Math.floor(first.parts[0].data.size / 16) * 4; // the codes (the copy moves multiples of 4 floats)
        const dst = ctx.memory.create('cold.copy.dst', words * 4);
        const per = await timer.median(ws.map((w) => (rec: Recorder) => copyK.encode(rec, w.parts[0].data, dst, words)), 5);
        sameBytesCopyMs[`${N}x${K}`] = median(per);
        ctx.memory.destroy(dst);
        console.log(`  copy of ${N}×${K}'s codes (${(first.parts[0].data.size / 1e6).toFixed(2)} MB) rotating: GPU ${median(per).toFixed(4)} ms`);
      }
      for (const M of Ms) {
        const x = ctx.memory.create('cold.x', M * K * 4);
        const y = ctx.memory.create('cold.y', M * N * 4);
        const def = kernel.gemvShape(M, first);
        const rl = kernel.rowLaneFor(first, M, {}, false);
        const dflt = { ...(rl ?? def), steps: kernel.gemvSteps, scatter: kernel.gemvScatter, step4: !rl && kernel.gemvStep4For(first, M, false), rowLane: !!rl };
        const layouts: Array<{ rows: number; lanes: number; steps: number; scatter: boolean; step4: boolean; rowLane?: boolean; threads?: number }> = [dflt];
        if (sweep === 'rowlane') {
          if (rl) layouts.push({ ...def, steps: kernel.gemvSteps, scatter: kernel.gemvScatter, step4: kernel.gemvStep4For(first, M, false), rowLane: false });
          for (const threads of [128, 256]) {
            for (const rows of GEMV_ROWS_OPTIONS) {
              for (const lanes of ROWLANE_LANES_OPTIONS) if (!rl || rows !== rl.rows || lanes !== rl.lanes || threads !== rl.threads) layouts.push({ ...dflt, rows, lanes, step4: false, rowLane: true, threads });
            }
          }
        } else if (sweep) {
          layouts.push({ ...dflt, scatter: !dflt.scatter });
          // the other lane step (4 weights, contiguous x loads / 8 weights), 1–4 steps a trip, the default lanes and their
          // neighbours, and at ≤ 8 rows 4 output rows a lane group (each x load serving twice the rows)
          const near = GEMV_LANES_OPTIONS.filter((l) => l === dflt.lanes || l === dflt.lanes * 2 || l === dflt.lanes / 2);
          for (const rowsOpt of M <= 8 && dflt.rows === 2 ? [2, 4] : [dflt.rows]) {
            for (const steps of GEMV_STEPS_OPTIONS) for (const lanes of near) layouts.push({ rows: rowsOpt, lanes, steps, scatter: dflt.scatter, step4: !dflt.step4 });
          }
          for (const steps of GEMV_STEPS_OPTIONS.filter((u) => u <= 2)) { // 4 steps a trip never won (2026-12-05 H100 runs)
            for (const rowsOpt of M === 1 ? [1, 2] : M <= 8 ? [2, 4] : [2]) {
              for (const lanes of GEMV_LANES_OPTIONS) if (rowsOpt !== dflt.rows || lanes !== dflt.lanes || steps !== dflt.steps) layouts.push({ rows: rowsOpt, lanes, steps, scatter: dflt.scatter, step4: dflt.step4 });
            }
          }
        }
        for (const l of layouts) {
          const enc = (w: Weight) => (rec: Recorder) => {
            kernel.gemvScatter = l.scatter;
            kernel.encode(rec, x, w, y, M, l.rowLane ? { gemvRowLane: true, gemvRows: l.rows, gemvLanes: l.lanes, gemvThreads: l.threads } : { gemvRowLane: false, gemvRows: l.rows, gemvLanes: l.lanes, gemvSteps: l.steps, gemvWide: false, gemvStep4: l.step4 });
            kernel.gemvScatter = dflt.scatter;
          };
          const per = await timer.median(ws.map(enc), 5);
          const gpuMs = median(per);
          const seq = await timeKernel(ctx, (rec) => { for (const w of ws) enc(w)(rec); }, { iters: 5 });
          const seqMs = seq.ms / C;
          const bytes = first.bytes + M * K * 4 + M * N * 4;
          const r: ColdGemvResult = { M, N, K, layout: `${l.rowLane ? `rowlane-nr${l.rows}-rl${l.lanes}-t${l.threads}` : `nr${l.rows}-l${l.lanes}-u${l.steps}${l.step4 ? '-s4' : ''}${l.scatter ? '' : '-rr'}`}${l === dflt ? ' (default)' : ''}`, bytes, gpuMs, gpuGbps: bytes / (gpuMs * 1e6), gpuPctCopy: (100 * bytes) / (gpuMs * 1e6) / copyGpuGbps, seqMs, seqGbps: bytes / (seqMs * 1e6) };
          rows.push(r);
          console.log(`  cold q4 M=${M} ${N}×${K} ${r.layout}: GPU ${gpuMs.toFixed(4)} ms = ${r.gpuGbps.toFixed(0)} GB/s (${r.gpuPctCopy.toFixed(0)}% of copy); back to back ${seqMs.toFixed(4)} ms = ${r.seqGbps.toFixed(0)} GB/s`);
        }
        ctx.memory.destroy(x);
        ctx.memory.destroy(y);
      }
      for (const w of ws) destroyWeight(ctx, w);
    }
    return { copyGpuGbps, copyWallGbps, copies, sameBytesCopyMs, tinyCopyMs, rows };
  } finally {
    timer.destroy();
  }
}
