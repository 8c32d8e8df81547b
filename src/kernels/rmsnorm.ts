// RMSNorm kernel wrapper (shaders/rmsnorm.wgsl): y = x · rsqrt(mean(x²) + eps) · w over channels;
// with shader-f16 it can also store y rounded to f16 (`y16`: the x of a decode GEMV that reads f16,
// MatmulOptions.gemvX16).
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
import { F16_ENABLE } from './gemv_body';

/** Whether a kernel can take wg_sum_subgroup.wgsl: subgroups, each at least 4 wide (its 64 partial sums cover 256 invocations). */
export function wgSumSubgroups(ctx: GpuContext): boolean {
  return ctx.features.subgroups && (ctx.subgroupMinSize ?? 0) >= 4;
}

const STORE = 'fn store_y(i: u32, v: f32) { y[i] = v; }';
const STORE_F16 = '@group(0) @binding(4) var<storage, read_write> y16: array<f16>;\nfn store_y(i: u32, v: f32) { y[i] = v; y16[i] = f16(v); }';

export class RmsNormKernel {
  private constructor(private pipeline: GPUComputePipeline, private pipelineF16: GPUComputePipeline | null) {}

  /** `subgroups`: false takes the halving tree even where subgroups exist (tests, benchmarks) */
  static async create(ctx: GpuContext, opts: { subgroups?: boolean } = {}): Promise<RmsNormKernel> {
    const sub = (opts.subgroups ?? true) && wgSumSubgroups(ctx);
    const sum = sub ? sumSubgroup : sumShared;
    const name = sub ? 'rmsnorm_subgroup' : 'rmsnorm';
    const f16 = ctx.features.f16 ? await ctx.pipelines.get(`${name}_f16`, composeSource(F16_ENABLE, sum, STORE_F16, code), { WG: 256 }) : null;
    return new RmsNormKernel(await ctx.pipelines.get(name, composeSource(sum, STORE, code), { WG: 256 }), f16);
  }

  /** Whether encode can take y16 (the device has shader-f16). */
  get f16(): boolean {
    return this.pipelineF16 !== null;
  }

  /** x f32[T, C], w f32[C] → y f32[T, C]; `y16`: also y rounded to f16, f16[T, C] (shader-f16 only) */
  encode(rec: Recorder, x: Binding, w: Binding, y: Binding, T: number, C: number, eps: number, y16?: Binding): void {
    const u = params([['u32', T], ['u32', C], ['f32', eps]]);
    if (!y16) {
      rec.dispatch(this.pipeline, u, [x, w, y], grid1d(T));
      return;
    }
    if (!this.pipelineF16) throw new Error('rmsnorm: an f16 copy of y needs shader-f16 (device: no); hint: read y');
    rec.dispatch(this.pipelineF16, u, [x, w, y, y16], grid1d(T));
  }
}
