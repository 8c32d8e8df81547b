// Row scatter wrapper (shaders/scatter_rows.wgsl): dst[map[2r] + pos[r] · map[2r+1], :] = src[r, :].
// During decoding, saves each layer's input rows x [R, C] into a training buffer at the row the
// sequence's token will occupy in the training layout; pos is the live position buffer that advances
// every decode step, so the same recorded commands write each step's rows to new places.
import code from '../../shaders/scatter_rows.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

export class ScatterRowsKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<ScatterRowsKernel> {
    return new ScatterRowsKernel(await ctx.pipelines.get('scatter_rows', code));
  }

  /**
   * src f32[R, C], pos i32[R], map i32[R, 2] ((base, stride) per row) → dst f32[D, C];
   * dst[map[2r] + pos[r] · map[2r+1], :] = src[r, :] for r in [0, R), the row computed in i32
   * (base may be negative; a row < 0 writes nothing, a row ≥ D is the caller's bug). Rows of dst
   * not addressed are left untouched; two rows addressing the same destination race. dst must not
   * alias src. R = 0 dispatches nothing.
   */
  encode(rec: Recorder, b: { src: Binding; pos: Binding; map: Binding; dst: Binding }, R: number, C: number): void {
    if (!Number.isInteger(R) || R < 0 || !Number.isInteger(C) || C < 1) {
      throw new Error(`scatter_rows needs an integer R ≥ 0 and C ≥ 1, got R ${R}, C ${C}`);
    }
    const n = R * C;
    if (n > 0xffffffff) throw new Error(`scatter_rows: R·C = ${R}·${C} = ${n} exceeds the u32 index range`);
    if (R === 0) return;
    rec.dispatch(this.pipeline, params([['u32', R], ['u32', C], ['u32', n]]), [b.src, b.pos, b.map, b.dst], grid1d(ceilDiv(n, 256)));
  }
}
