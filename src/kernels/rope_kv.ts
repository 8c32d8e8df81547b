// RoPE + KV-cache write wrapper (shaders/rope_kv.wgsl): one dispatch per layer rotates the q and k
// heads of a fused qkv [T, (H + 2K)·D] in place and writes rotated k and v to (slot[t], pos[t]) —
// or, given `fan` (the training layout: a shared prompt row), to fan[t] slots from slot[t] on.
import code from '../../shaders/rope_kv.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';
import type { RopeTable } from './rope';

export interface RopeKvShape { T: number; H: number; K: number; D: number; L: number }

export class RopeKvKernel {
  private constructor(private ctx: GpuContext, private pipeline: GPUComputePipeline, private dummy: GPUBuffer) {}

  static async create(ctx: GpuContext): Promise<RopeKvKernel> {
    return new RopeKvKernel(ctx, await ctx.pipelines.get('rope_kv', code, { FAN: 0 }), ctx.memory.create('rope_kv.unused', 16));
  }

  /**
   * qkv f32[T, (H+2K)·D] (q, k rotated in place), slot/pos i32[T] → kc, vc f32[B, L, K, D] at
   * (slot[t] + c, pos[t]) for c < fan[t] (fan i32[T], default 1)
   */
  encode(rec: Recorder, s: RopeKvShape, table: RopeTable, b: { qkv: Binding; slot: Binding; pos: Binding; kc: Binding; vc: Binding; fan?: Binding }): void {
    if (table.D !== s.D) throw new Error(`rope_kv: the RoPE table is for head dim ${table.D}, the layer has ${s.D}`);
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.D], ['u32', s.L], ['u32', table.maxPos]]);
    const pipeline = b.fan ? this.ctx.pipelines.getSync('rope_kv', code, { FAN: 1 }) : this.pipeline;
    rec.dispatch(pipeline, u, [b.qkv, b.slot, b.pos, table.buffer, b.kc, b.vc, b.fan ?? this.dummy], grid1d(ceilDiv((s.T * (s.H + 2 * s.K) * s.D) / 2, 256)));
  }
}
