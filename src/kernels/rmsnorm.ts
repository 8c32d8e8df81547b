// RMSNorm kernel wrapper (shaders/rmsnorm.wgsl): y = x · rsqrt(mean(x²) + eps) · w over channels.
// The row's Σx² is a workgroup sum: subgroupAdd and one barrier where the device has subgroups of
// ≥ 4 lanes, else the 8-barrier halving tree (H100, decode at G = 16, 57 norms a step of one row per
// workgroup: 0.427 ms with the tree, 0.375–0.441 with subgroups — the dispatch itself dominates).
import code from '../../shaders/rmsnorm.wgsl?raw';
import sumSubgroup from '../../shaders/wg_sum_subgroup.wgsl?raw';
import sumShared from '../../shaders/wg_sum_shared.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { composeSource } from '../gpu/pipelines';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { grid1d } from './grid';

/** Whether a kernel can take wg_sum_subgroup.wgsl: subgroups, each at least 4 wide (its 64 partial sums cover 256 invocations). */
export function wgSumSubgroups(ctx: GpuContext): boolean {
  return ctx.features.subgroups && (ctx.subgroupMinSize ?? 0) >= 4;
}

export class RmsNormKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  /** `subgroups`: false takes the halving tree even where subgroups exist (tests, benchmarks) */
  static async create(ctx: GpuContext, opts: { subgroups?: boolean } = {}): Promise<RmsNormKernel> {
    const sub = (opts.subgroups ?? true) && wgSumSubgroups(ctx);
    return new RmsNormKernel(await ctx.pipelines.get(sub ? 'rmsnorm_subgroup' : 'rmsnorm', composeSource(sub ? sumSubgroup : sumShared, code), { WG: 256 }));
  }

  /** x f32[T, C], w f32[C] → y f32[T, C] */
  encode(rec: Recorder, x: Binding, w: Binding, y: Binding, T: number, C: number, eps: number): void {
    const u = params([['u32', T], ['u32', C], ['f32', eps]]);
    rec.dispatch(this.pipeline, u, [x, w, y], grid1d(T));
  }
}
