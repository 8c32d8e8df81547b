// RMSNorm kernel wrapper (shaders/rmsnorm.wgsl): y = x · rsqrt(mean(x²) + eps) · w over channels.
import code from '../../shaders/rmsnorm.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { grid1d } from './grid';

export class RmsNormKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<RmsNormKernel> {
    return new RmsNormKernel(await ctx.pipelines.get('rmsnorm', code, { WG: 256 }));
  }

  /** x f32[T, C], w f32[C] → y f32[T, C] */
  encode(rec: Recorder, x: Binding, w: Binding, y: Binding, T: number, C: number, eps: number): void {
    const u = params([['u32', T], ['u32', C], ['f32', eps]]);
    rec.dispatch(this.pipeline, u, [x, w, y], grid1d(T));
  }
}
