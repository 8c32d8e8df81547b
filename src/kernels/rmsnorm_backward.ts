// RMSNorm backward wrapper (shaders/rmsnorm_backward.wgsl): dx (+)= ∂(x·rsqrt(mean(x²)+eps)·w)/∂x · dy.
// The norm weight is frozen, so there is no dw. `accumulate` adds into dx (the residual gradient).
import code from '../../shaders/rmsnorm_backward.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { grid1d } from './grid';

export class RmsNormBackwardKernel {
  private constructor(private overwrite: GPUComputePipeline, private accumulate: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<RmsNormBackwardKernel> {
    const [overwrite, accumulate] = await Promise.all([
      ctx.pipelines.get('rmsnorm_backward', code, { WG: 256, ACCUMULATE: 0 }),
      ctx.pipelines.get('rmsnorm_backward', code, { WG: 256, ACCUMULATE: 1 }),
    ]);
    return new RmsNormBackwardKernel(overwrite, accumulate);
  }

  /** x f32[T, C], w f32[C], dy f32[T, C] → dx f32[T, C] (dx += … when accumulate) */
  encode(rec: Recorder, x: Binding, w: Binding, dy: Binding, dx: Binding, T: number, C: number, eps: number, accumulate = false): void {
    const u = params([['u32', T], ['u32', C], ['f32', eps]]);
    rec.dispatch(accumulate ? this.accumulate : this.overwrite, u, [x, w, dy, dx], grid1d(T));
  }
}
