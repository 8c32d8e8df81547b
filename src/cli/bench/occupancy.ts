// Residency probe (`bench --occupancy`, shaders/occupancy_probe.wgsl): how many 256-thread workgroups an
// SM runs at once for a given amount of workgroup memory, with and without a subgroup-matrix product in
// the kernel. `bench --mma-waves` found the subgroup-matrix matmul (36–45 KiB of workgroup memory) running
// one workgroup an SM even with fewer registers live (H100, twenty-fourth session); this tells whether the
// driver's shared-memory carve-out or the matrix product is what holds a second one off, apart from that
// kernel. Each probe thread chases dependent loads through a 16 MiB buffer (L2 latency, one line a warp a
// step), so its time only steps up where the workgroups no longer all fit at once: past every multiple of
// (workgroups an SM) × SMs. The sweep's first rows calibrate it: at 4 KiB the hardware's own limit (8 of
// 256 threads an SM on an H100: 2,048 threads) shows as steps every 8 × 132.
import probeCode from '../../../shaders/occupancy_probe.wgsl?raw';
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { composeSource } from '../../gpu/pipelines';
import { MMA_ENABLE } from '../../kernels/matmul_mma';
import { GpuTimer } from './gpu-timer';

const NO_MATRIX = 'fn matrix_touch(lid: u32) -> f32 { return 0.0; }';
/** One 16 × 16 × 16 f16 product a subgroup (its 0.5 KiB operand and 1 KiB result arrays count in the workgroup memory). */
const MATRIX = `${MMA_ENABLE}
var<workgroup> mh: array<f16, 256>;
var<workgroup> mr: array<f32, 256>;
fn matrix_touch(lid: u32) -> f32 {
  mh[lid] = f16(lid & 7u);
  workgroupBarrier();
  let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&mh, 0u, 16u);
  let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&mh, 0u, 16u);
  var acc = subgroup_matrix_result<f32, 16, 16>();
  acc = subgroupMatrixMultiplyAccumulate(a, b, acc);
  subgroupMatrixStore<row_major>(&mr, 0u, acc, 16u); // every subgroup the same values
  workgroupBarrier();
  return mr[lid] * 0.0;
}`;

/** The probe's WGSL, with or without the subgroup-matrix product. */
export function occupancyProbeSource(matrix: boolean): string {
  return composeSource(matrix ? MATRIX : NO_MATRIX, probeCode);
}

/** STEP of the probe's chase (a whole number of 32-word lines). */
export const CHASE_STEP = 32 * 1031;

/** The chase buffer: chase[i] = (i + STEP) mod n (n a multiple of 32). */
export function chaseTable(n: number, step = CHASE_STEP): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => (i + step) % n);
}

/** CPU model of out[w] (the probe without the matrix: its touch adds 0): where thread 0's chase ends, plus the last vec4's x. */
export function occupancyProbeRef(workgroup: number, smemVec4: number, iters: number, n: number, step = CHASE_STEP): number {
  const start = ((workgroup * 8 * 97 * 32) % n);
  return Math.fround((start + iters * step) % n) + (smemVec4 - 1);
}

export interface OccupancyRow {
  /** workgroup memory the probe declares (KiB; the matrix variant adds 1.5) */
  smemKiB: number;
  matrix: boolean;
  workgroups: number;
  /** GPU ms of the one dispatch (median of 5) */
  ms: number;
}

export const OCCUPANCY_SMEM_KIB = [4, 16, 24, 32, 40, 48];
export const OCCUPANCY_COUNTS = [66, 132, 198, 264, 330, 396, 528, 660, 792, 1056, 1188];

/** Every (matrix or not, workgroup memory, workgroup count) of the sweep, GPU-timed; null without timestamp-query. Sizes over the device's limit are left out. */
export async function benchOccupancy(ctx: GpuContext, opts: { smemKiB?: number[]; counts?: number[]; iters?: number; matrix?: boolean[]; chaseWords?: number } = {}): Promise<OccupancyRow[] | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const counts = opts.counts ?? OCCUPANCY_COUNTS;
  const out = ctx.memory.create('occupancy.out', Math.max(...counts) * 4);
  const chase = ctx.memory.upload('occupancy.chase', chaseTable(opts.chaseWords ?? 4 << 20)); // 16 MiB: more than L1, less than L2
  const rows: OccupancyRow[] = [];
  const limit = ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
  try {
    for (const matrix of opts.matrix ?? [false, true]) {
      for (const kib of opts.smemKiB ?? OCCUPANCY_SMEM_KIB) {
        if (kib * 1024 + (matrix ? 1536 : 0) > limit) { console.log(`  occupancy ${kib} KiB${matrix ? ' + matrix' : ''}: over the device's ${limit} bytes of workgroup memory, not run`); continue; }
        const pl = ctx.pipelines.getSync(`occupancy_probe${matrix ? '_matrix' : ''}`, occupancyProbeSource(matrix), { SMEM_VEC4: kib * 64, ITERS: opts.iters ?? 256 });
        const line: string[] = [];
        for (const wgs of counts) {
          const [ms] = await timer.median([(rec: Recorder) => rec.dispatch(pl, null, [out, chase], [wgs])], 5);
          rows.push({ smemKiB: kib, matrix, workgroups: wgs, ms });
          line.push(`${wgs}: ${(ms * 1000).toFixed(1)}`);
        }
        console.log(`  occupancy ${kib} KiB${matrix ? ' + matrix' : ''} (µs by workgroups): ${line.join(' · ')}`);
      }
    }
    return rows;
  } finally {
    ctx.memory.destroy(out);
    ctx.memory.destroy(chase);
    timer.destroy();
  }
}
