// KV-cache write wrapper (shaders/kv_write.wgsl): k and v heads of each token into (slot, pos).
import code from '../../shaders/kv_write.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { grid1d } from './grid';

export class KvWriteKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<KvWriteKernel> {
    return new KvWriteKernel(await ctx.pipelines.get('kv_write', code));
  }

  /** qkv f32[T, (H+2K)·D], slot/pos i32[T] → kc, vc f32[B, L, K, D] at (slot[t], pos[t]) */
  encode(rec: Recorder, s: { T: number; H: number; K: number; D: number; L: number }, b: { qkv: Binding; slot: Binding; pos: Binding; kc: Binding; vc: Binding }): void {
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.D], ['u32', s.L]]);
    rec.dispatch(this.pipeline, u, [b.qkv, b.slot, b.pos, b.kc, b.vc], grid1d(s.T));
  }
}
