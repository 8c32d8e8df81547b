// Rotary embedding: the cos/sin table, and the backward wrapper (shaders/rope_backward.wgsl: the
// transpose rotation in place on the dq and dk heads of a fused d-qkv [T, (H + 2K)·D] buffer). The
// forward rotation runs fused with the KV-cache write (kernels/rope_kv.ts) or, in a decode step,
// inside the attention (kernels/attention_gqa.ts, shaders/rope_rot.wgsl). cos/sin come
// from a float32 table [maxPos, D/2] built here exactly as HF does (WGSL cos/sin lose accuracy for
// the large angles of late positions), uploaded once per model.
import bwdCode from '../../shaders/rope_backward.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

/** A cos/sin table on the GPU: vec2<f32>[maxPos, D/2] of (cos, sin). */
export interface RopeTable {
  buffer: GPUBuffer;
  D: number;
  maxPos: number;
  theta: number;
}

/**
 * Host table (cos, sin) interleaved, f32[maxPos, D/2, 2], in HF's float32 steps:
 * inv_freq[i] = 1 / theta^(f32(2i)/D) (pow and reciprocal rounded to f32), angle = f32(p · inv_freq).
 */
export function ropeTableHost(theta: number, D: number, maxPos: number): Float32Array {
  if (D % 2 || D <= 0) throw new Error(`rope needs an even head dim, got ${D}`);
  const half = D / 2;
  const out = new Float32Array(maxPos * half * 2);
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.fround(theta ** Math.fround((2 * i) / D));
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]);
      out[2 * (p * half + i)] = Math.cos(angle);
      out[2 * (p * half + i) + 1] = Math.sin(angle);
    }
  }
  return out;
}

/** Uploads the table for positions [0, maxPos) (2·maxPos·D/2 floats; 1 MiB for maxPos 2048, D 128). */
export function uploadRopeTable(ctx: GpuContext, theta: number, D: number, maxPos: number): RopeTable {
  return { buffer: ctx.memory.upload(`rope.table[${maxPos}×${D / 2}]`, ropeTableHost(theta, D, maxPos)), D, maxPos, theta };
}

export class RopeKernel {
  private constructor(private bwd: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<RopeKernel> {
    return new RopeKernel(await ctx.pipelines.get('rope_backward', bwdCode));
  }

  /** dqkv f32[T, ld] in place: dq, dk ← R(−θ)·(dq, dk); dv untouched; ld = (H + 2K)·D by default */
  encodeBackward(rec: Recorder, dqkv: Binding, pos: Binding, table: RopeTable, T: number, H: number, K: number, ld?: number): void {
    const D = table.D;
    const stride = ld ?? (H + 2 * K) * D;
    if (stride < (H + K) * D) throw new Error(`rope: row stride ${stride} is shorter than the ${H + K} rotated heads of ${D}`);
    const u = params([['u32', T], ['u32', H + K], ['u32', D], ['u32', stride], ['u32', table.maxPos]]);
    rec.dispatch(this.bwd, u, [dqkv, pos, table.buffer], grid1d(ceilDiv((T * (H + K) * D) / 2, 256)));
  }
}
