// CSR row gather-sum wrapper (shaders/gather_rows.wgsl): dst[i, :] = Σ_{e ∈ [off[i], off[i+1])} src[idx[e], :].
// Gathers the scored rows of a [T, C] buffer into [M, C] (one index per list), or scatter-adds
// [M, C] gradient rows back into [T, C] with no atomics (each destination row lists its sources).
import code from '../../shaders/gather_rows.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

export class GatherRowsKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<GatherRowsKernel> {
    return new GatherRowsKernel(await ctx.pipelines.get('gather_rows', code));
  }

  /**
   * src f32[S, C], off u32[rows + 1] (non-decreasing), idx u32[off[rows]] (each in [0, S)) →
   * dst f32[rows, C]; dst[i, :] = Σ_{e ∈ [off[i], off[i+1])} src[idx[e], :], summed in list order;
   * an empty list writes a zero row. dst must not alias src. rows = 0 dispatches nothing.
   */
  encode(rec: Recorder, b: { src: Binding; off: Binding; idx: Binding; dst: Binding }, rows: number, C: number): void {
    if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(C) || C < 1) {
      throw new Error(`gather_rows needs an integer rows ≥ 0 and C ≥ 1, got rows ${rows}, C ${C}`);
    }
    const n = rows * C;
    if (n > 0xffffffff) throw new Error(`gather_rows: rows·C = ${rows}·${C} = ${n} exceeds the u32 index range`);
    if (rows === 0) return;
    rec.dispatch(this.pipeline, params([['u32', rows], ['u32', C], ['u32', n]]), [b.src, b.off, b.idx, b.dst], grid1d(ceilDiv(n, 256)));
  }
}
