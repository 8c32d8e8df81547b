// Causal GQA attention wrapper (shaders/attention.wgsl): prefill, decode and training forward.
import code from '../../shaders/attention.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';

export interface AttentionShape {
  /** query tokens in this call */
  T: number;
  H: number;
  K: number;
  D: number;
  /** positions per cache slot */
  L: number;
}

export class AttentionKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<AttentionKernel> {
    return new AttentionKernel(await ctx.pipelines.get('attention', code, { WG: 64 }));
  }

  /**
   * qkv f32[T, (H+2K)·D] (rope applied), kc/vc f32[B, L, K, D], slot/pos i32[T]
   * → out f32[T, H·D], lse f32[T, H]
   */
  encode(rec: Recorder, s: AttentionShape, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; out: Binding; lse: Binding }): void {
    if (s.D > 256 || s.H % s.K) throw new Error(`attention supports head_dim ≤ 256 and H divisible by K; got D=${s.D}, H=${s.H}, K=${s.K}`);
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.D], ['u32', s.L], ['f32', 1 / Math.sqrt(s.D)]]);
    const gy = Math.min(s.T, 65535);
    rec.dispatch(this.pipeline, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, b.out, b.lse], [s.H, gy, Math.ceil(s.T / 65535)]);
  }
}
