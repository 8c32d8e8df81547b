// How many workgroups of the subgroup-matrix matmul an SM runs at once (bench --mma-waves): one q4
// matmul at 16 rows of x and K = 1536 (gate|up's), timed alone in a pass of its own, for a growing
// number of workgroups (N = 16 · tiles · workgroups). Were each workgroup's time fixed and an SM to
// hold O of them, the time would step up past every multiple of O · SMs (a new wave); a time that
// grows smoothly says the SMs' throughput, not the residency, bounds the kernel. gate|up runs 560
// workgroups at 2 tiles, down and o 96, q|k|v 128 at 1 (matmul_mma.ts).
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { destroyWeight, uploadWeight, type MatmulKernel, type MatmulOptions } from '../../kernels/matmul';
import { GpuTimer } from './gpu-timer';
import { quantizeQ4Fast } from './weights';

export interface MmaWavesRow {
  tiles: number;
  workgroups: number;
  N: number;
  K: number;
  /** GPU ms of the one dispatch (median of 5) */
  ms: number;
}

export const MMA_WAVES_COUNTS = [33, 66, 132, 198, 264, 330, 396, 462, 528, 594, 660, 792, 924];

export async function benchMmaWaves(ctx: GpuContext, kernel: MatmulKernel, tiles: number[] = [1, 2], counts: number[] = MMA_WAVES_COUNTS, K = 1536): Promise<MmaWavesRow[] | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const m = ctx.memory;
  const M = 16;
  const x = m.upload('waves.x', Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37)));
  const rows: MmaWavesRow[] = [];
  try {
    for (const nt of tiles) {
      for (const wgs of counts) {
        const N = 16 * nt * wgs;
        const w = uploadWeight(ctx, { format: 'q4', N, K, q: quantizeQ4Fast(N, K, N + K) }, `waves.${N}`);
        const y = m.create('waves.y', M * N * 4);
        const opts: MatmulOptions = { variant: 'gemv', gemvMma: true, mmaTiles: nt };
        try {
          const [ms] = await timer.median([(rec: Recorder) => kernel.encode(rec, x, w, y, M, opts)], 5);
          rows.push({ tiles: nt, workgroups: wgs, N, K, ms });
          console.log(`  mma waves NT=${nt}: ${wgs} workgroups (N ${N}, K ${K}, 16 rows): ${(ms * 1000).toFixed(2)} µs`);
        } catch (e) {
          console.log(`  mma waves NT=${nt} ${wgs} workgroups: not run (${(e as Error).message.slice(0, 120)})`);
        } finally {
          m.destroy(y);
          destroyWeight(ctx, w);
        }
      }
    }
    return rows;
  } finally {
    m.destroy(x);
    timer.destroy();
  }
}
