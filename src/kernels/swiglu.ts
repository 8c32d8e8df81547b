// SwiGLU wrappers (shaders/swiglu.wgsl, shaders/swiglu_backward.wgsl): h = silu(gate)·up from the
// fused gate|up output gu [T, 2I], and its backward dgu [T, 2I] from dh [T, I].
import fwdCode from '../../shaders/swiglu.wgsl?raw';
import bwdCode from '../../shaders/swiglu_backward.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

export class SwigluKernel {
  private constructor(private fwd: GPUComputePipeline, private bwd: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<SwigluKernel> {
    const [fwd, bwd] = await Promise.all([ctx.pipelines.get('swiglu', fwdCode), ctx.pipelines.get('swiglu_backward', bwdCode)]);
    return new SwigluKernel(fwd, bwd);
  }

  /** gu f32[T, 2I] → h f32[T, I] */
  encode(rec: Recorder, gu: Binding, h: Binding, T: number, I: number): void {
    rec.dispatch(this.fwd, params([['u32', T], ['u32', I]]), [gu, h], grid1d(ceilDiv(T * I, 256)));
  }

  /** gu f32[T, 2I], dh f32[T, I] → dgu f32[T, 2I] (d gate | d up) */
  encodeBackward(rec: Recorder, gu: Binding, dh: Binding, dgu: Binding, T: number, I: number): void {
    rec.dispatch(this.bwd, params([['u32', T], ['u32', I]]), [gu, dh, dgu], grid1d(ceilDiv(T * I, 256)));
  }
}
