// How many workgroups of the subgroup-matrix matmul an SM runs at once (bench --mma-waves): one q4
// matmul at 16 rows of x and K = 1536 (gate|up's), timed alone in a pass of its own, for a growing
// number of workgroups (N = 16 · tiles · workgroups). Were each workgroup's time fixed and an SM to
// hold O of them, the time would step up past every multiple of O · SMs (a new wave); a time that
// grows smoothly says the SMs' throughput, not the residency, bounds the kernel. gate|up runs 560
// workgroups at 2 tiles, down and o 96, q|k|v 128 at 1 (matmul_mma.ts). H100, 2026-12-07: steps every
// 132 workgroups at 1 and 2 tiles — one workgroup an SM at a time — and still with fewer registers live;
// bench --occupancy then showed an SM's workgroups sharing 48 KiB of workgroup memory, so the sweep
// also times the layouts of less (MMA_WAVES_LAYOUTS: the KiB in each name, the shuffle decode's). Twenty-fifth
// session: even at 16 KiB the kernel runs one an SM; without its decode of W, three (the probes below).
import type { GpuContext } from '../../gpu/device';
import { Recorder } from '../../gpu/encoder';
import { destroyWeight, uploadWeight, type MatmulKernel, type MatmulOptions } from '../../kernels/matmul';
import { mmaWorkgroupBytes, type MmaChunk, type MmaRounds, type MmaSubgroups } from '../../kernels/matmul_mma';
import { GpuTimer } from './gpu-timer';
import { quantizeQ4Fast } from './weights';

export interface MmaWavesRow {
  /** MmaWavesVariant.name */
  variant: string;
  tiles: number;
  workgroups: number;
  N: number;
  K: number;
  /** GPU ms of the one dispatch (median of 5) */
  ms: number;
}

export const MMA_WAVES_COUNTS = [33, 66, 132, 198, 264, 330, 396, 462, 528, 594, 660, 792, 924];

/** A kernel the sweep times: its name, tiles a workgroup, options, and at which workgroup counts (MMA_WAVES_COUNTS if absent). */
export interface MmaWavesVariant { name: string; tiles: number; opts?: MatmulOptions; counts?: number[] }

const PROBE_COUNTS = [66, 132, 198, 264, 396, 528, 660, 924];

/** A layout named in full (whatever the kernel's defaults), its workgroup memory in the name (the shuffle decode's: no code-byte table). */
function layout(tiles: number, mmaChunk: MmaChunk, mmaRounds: MmaRounds, mmaSubgroups: MmaSubgroups = 8): MmaWavesVariant {
  const how = [mmaChunk === 32 ? 'KC=32' : '', ['', 'results a K-phase a round', 'results a subgroup a round'][mmaRounds], mmaSubgroups === 4 ? '128 threads' : ''].filter(Boolean).join(', ');
  return { name: `NT=${tiles}${how ? ` ${how}` : ''} (${mmaWorkgroupBytes(tiles, mmaChunk, mmaRounds, false, mmaSubgroups) / 1024} KiB)`, tiles, opts: { mmaChunk, mmaRounds, mmaSubgroups } };
}

/** The layouts down to less workgroup memory (bench --occupancy, H100: an SM's workgroups share 48 KiB): 32-weight chunks and the results added in rounds, at 1, 2 and 4 tiles. */
export const MMA_WAVES_LAYOUTS: MmaWavesVariant[] = [layout(1, 64, 0), layout(2, 64, 0), layout(2, 64, 2), layout(1, 32, 2), layout(2, 32, 0), layout(2, 32, 1), layout(2, 32, 2), layout(4, 32, 2),
  // 128-thread workgroups (4 subgroups): half the registers a workgroup, so more an SM if registers were what held them to one
  layout(1, 64, 0, 4), layout(1, 32, 2, 4), layout(2, 32, 2, 4), layout(4, 64, 2, 4)];

/**
 * The sweep: the layouts; then at the 16 KiB one (which the probe kernel runs 3 an SM), which part of the kernel
 * holds the second workgroup off — mmaDebug probes (wrong results, timing only; twenty-fifth session: without the
 * decode 3 an SM), barriers between the products and between the decode's words (MMA_SERIAL), each trip loading its
 * own W and x — and the other decodes (the table: 17 KiB; codes from the codebook buffer). At 32-weight chunks the
 * shuffle decode is written out word by word whatever mmaDecode asks (1 and 2 are the same kernel there).
 */
export const MMA_WAVES_VARIANTS: MmaWavesVariant[] = [
  ...MMA_WAVES_LAYOUTS,
  ...([[{ mmaDebug: 2 }, 'no decode'], [{ mmaDebug: 3 }, 'no decode, no products'], [{ mmaDebug: 4 }, "W's codes stored undecoded"], [{ mmaDebug: 5 }, 'the decode without the scale'],
    [{ mmaDebug: 6 }, 'the code bits stored as the decode would (no values)'], [{ mmaSerial: true }, 'serial (barriers between products and words)'], [{ mmaSerial: true, mmaPrefetch: 0 }, 'serial, loads at the trip start'],
    [{ mmaDecode: 0 }, 'the code-byte table (17 KiB)'], [{ mmaDecode: 3 }, 'codes from the codebook buffer']] as Array<[MatmulOptions, string]>)
    .map(([opts, what]): MmaWavesVariant => ({ name: `NT=2 KC=32, results a subgroup a round, ${what}`, tiles: 2, opts: { mmaChunk: 32, mmaRounds: 2, ...opts }, counts: PROBE_COUNTS })),
];

export async function benchMmaWaves(ctx: GpuContext, kernel: MatmulKernel, variants: MmaWavesVariant[] = MMA_WAVES_VARIANTS, counts: number[] = MMA_WAVES_COUNTS, K = 1536): Promise<MmaWavesRow[] | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const m = ctx.memory;
  const M = 16;
  const x = m.upload('waves.x', Float32Array.from({ length: M * K }, (_, i) => Math.sin(i * 0.37)));
  const rows: MmaWavesRow[] = [];
  try {
    for (const v of variants) {
      const nt = v.tiles;
      for (const wgs of v.counts ?? counts) {
        const N = 16 * nt * wgs;
        const w = uploadWeight(ctx, { format: 'q4', N, K, q: quantizeQ4Fast(N, K, N + K) }, `waves.${N}`);
        const y = m.create('waves.y', M * N * 4);
        const opts: MatmulOptions = { variant: 'gemv', gemvMma: true, mmaTiles: nt, ...v.opts };
        try {
          // build the pipeline first, inside an error scope (encoded, never submitted): a refused one is reported, not timed as nothing
          ctx.device.pushErrorScope('validation');
          let invalid: GPUError | null = null;
          try {
            kernel.encode(new Recorder(ctx, 'waves.build'), x, w, y, M, opts);
          } finally {
            invalid = await ctx.device.popErrorScope();
          }
          if (invalid) throw new Error(invalid.message);
          const [ms] = await timer.median([(rec: Recorder) => kernel.encode(rec, x, w, y, M, opts)], 5);
          rows.push({ variant: v.name, tiles: nt, workgroups: wgs, N, K, ms });
          console.log(`  mma waves ${v.name}: ${wgs} workgroups (N ${N}, K ${K}, 16 rows): ${(ms * 1000).toFixed(2)} µs`);
        } catch (e) {
          console.log(`  mma waves ${v.name}, ${wgs} workgroups: not run (${(e as Error).message.slice(0, 120)})`);
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
