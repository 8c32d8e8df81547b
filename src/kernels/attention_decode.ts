// Decode attention in one dispatch (shaders/attention_decode.wgsl): a workgroup per (query head, token)
// walks all of the token's keys, RoPE and the cache write inside — where the split kernel
// (attention_gqa.ts) takes two dispatches (key-chunk partials, then their merge). For few rows of
// few positions (a single stream), were the split's second dispatch to cost more than its parallelism
// gains. It does not: on an H100 the G = 1 decode step takes 3.882 ms with it against 1.741 split
// (bench/RESULTS.md, twenty-sixth session), so the engine leaves it off (DecodeFusion.attentionOne = 0).
import code from '../../shaders/attention_decode.wgsl?raw';
import rotCode from '../../shaders/rope_rot.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { composeSource } from '../gpu/pipelines';
import type { AttentionShape } from './attention';
import type { RopeTable } from './rope';

const source = composeSource(rotCode, code);
/** Most keys a token may have (its scores sit in workgroup memory: 8 KiB). */
export const DECODE_ATTENTION_MAX_KEYS = 2048;
const THREADS = 256;

export class AttentionDecodeKernel {
  private constructor(private ctx: GpuContext) {}

  static async create(ctx: GpuContext): Promise<AttentionDecodeKernel> {
    return new AttentionDecodeKernel(ctx);
  }

  /** Whether the kernel takes this shape: whole query heads a KV head, D a multiple of 8 and ≤ 256, positions ≤ DECODE_ATTENTION_MAX_KEYS. */
  static fits(s: AttentionShape): boolean {
    return s.H % s.K === 0 && s.D % 8 === 0 && s.D <= THREADS && s.L <= DECODE_ATTENTION_MAX_KEYS;
  }

  /**
   * qkv f32[T, (H+2K)·D] (not rotated), kc/vc f32[B, L, K, D] (token t's keys before pos[t] cached in slot[t]),
   * slot/pos i32[T] → out f32[T, H·D], lse f32[T, H]; the token's rotated k and its v written to (slot[t], pos[t]).
   */
  encode(rec: Recorder, s: AttentionShape, rope: RopeTable, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; out: Binding; lse: Binding }): void {
    if (!AttentionDecodeKernel.fits(s)) throw new Error(`attention_decode: needs H a multiple of K, a head dim that is a multiple of 8 and ≤ ${THREADS}, and ≤ ${DECODE_ATTENTION_MAX_KEYS} positions; got H=${s.H}, K=${s.K}, D=${s.D}, L=${s.L}; hint: use the split attention (attention_gqa)`);
    if (rope.D !== s.D) throw new Error(`attention_decode: the RoPE table's head dim ${rope.D} is not the layer's ${s.D}`);
    if (s.T > 65535) throw new Error(`attention_decode: ${s.T} tokens, at most 65,535 a dispatch; hint: decode steps have one token a sequence`);
    const pl = this.ctx.pipelines.getSync('attention_decode', source, { GQ: s.H / s.K, HD: s.D, SMAX: DECODE_ATTENTION_MAX_KEYS });
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.L], ['f32', 1 / Math.sqrt(s.D)], ['u32', rope.maxPos]]);
    rec.dispatch(pl, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, b.out, b.lse, rope.buffer], [s.H, s.T]);
  }
}
