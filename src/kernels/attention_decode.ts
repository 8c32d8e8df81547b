// A decode step's attention in one dispatch (shaders/attention_decode.wgsl): a workgroup per (query
// head, token) walks all of the token's keys, RoPE and the cache write inside, where the split kernel
// (attention_gqa.ts) takes two dispatches (key-chunk partials, then their merge). Its keys go to slots
// of LK lanes (a key's dot by a subgroup butterfly over the slot), so it needs subgroups at least LK
// wide. The engine takes it for decode steps of up to DecodeFusion.attentionOne rows (model/kernels.ts;
// 0 by default until its rollouts are timed).
import code from '../../shaders/attention_decode.wgsl?raw';
import rotCode from '../../shaders/rope_rot.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { composeSource } from '../gpu/pipelines';
import type { AttentionShape } from './attention';
import type { RopeTable } from './rope';

const source = composeSource('enable subgroups;', rotCode, code);
/** Most vec4s of a head a lane holds (attention_decode.wgsl MAXV): D ≤ 32·LK. */
const MAX_VEC4_A_LANE = 8;
const MAX_HEAD_DIM = 256;

/** How the kernel lays out its walk (override constants of attention_decode.wgsl). */
export interface AttentionDecodeLayout {
  /** lanes a key (1, 2, 4, …, 32; at most the subgroup width) */
  lanes: number;
  /** keys a slot walks a trip (1 or 2: their loads issued together) */
  keys: 1 | 2;
  /** threads a workgroup (a multiple of 32, ≤ 256) */
  threads: number;
}

/**
 * The default layout: a 128-wide head at 4 vec4s a lane (8 lanes a key, 32 key slots), two keys a slot
 * a trip. H100, a decode step's pass (twenty-ninth session, run 1): faster than 4 lanes, than 1 key a
 * trip and than 128 threads at G = 1, 8 and 16 (e.g. G = 1 1.619 ms against 1.750 / 1.694 / 1.737).
 */
export const ATTENTION_DECODE_LAYOUT: AttentionDecodeLayout = { lanes: 8, keys: 2, threads: 256 };

export class AttentionDecodeKernel {
  /** the walk's layout (benchmarks vary it); lanes are cut to the device's narrowest subgroup */
  layout: AttentionDecodeLayout = { ...ATTENTION_DECODE_LAYOUT };

  private constructor(private ctx: GpuContext) {}

  static async create(ctx: GpuContext): Promise<AttentionDecodeKernel> {
    return new AttentionDecodeKernel(ctx);
  }

  /** The lanes a key this device runs `layout` with: the layout's, cut to the narrowest subgroup and to the head's D/4 vec4s, raised until a lane holds ≤ 8 of them (0: none fits). */
  lanesFor(D: number, layout = this.layout): number {
    const widest = this.ctx.features.subgroups ? this.ctx.subgroupMinSize ?? 0 : 0;
    let lk = Math.min(layout.lanes, widest, D / 4);
    while (lk > 0 && lk < widest && lk < D / 4 && D / 4 / lk > MAX_VEC4_A_LANE) lk *= 2;
    return lk > 0 && (D / 4) % lk === 0 && D / 4 / lk <= MAX_VEC4_A_LANE ? lk : 0;
  }

  /** Whether the kernel takes this shape here: subgroups, whole query heads a KV head, D a multiple of 8 and ≤ 256 that a lane layout fits, and its tokens in one dispatch row. */
  fits(s: AttentionShape): boolean {
    return s.H % s.K === 0 && s.D % 8 === 0 && s.D <= MAX_HEAD_DIM && s.T <= 65535 && this.lanesFor(s.D) > 0;
  }

  /**
   * qkv f32[T, (H+2K)·D] (not rotated), kc/vc f32[B, L, K, D] (token t's keys before pos[t] cached in slot[t]),
   * slot/pos i32[T] (distinct slots) → out f32[T, H·D], lse f32[T, H]; the token's rotated k and its v written to
   * (slot[t], pos[t]). qkv is left unrotated.
   */
  encode(rec: Recorder, s: AttentionShape, rope: RopeTable, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; out: Binding; lse: Binding }): void {
    if (!this.fits(s)) {
      throw new Error(`attention_decode: needs subgroups (${this.ctx.features.subgroups ? `${this.ctx.subgroupMinSize}+ lanes` : 'none here'}), H a multiple of K, a head dim that is a multiple of 8, ≤ ${MAX_HEAD_DIM} and ≤ 32 × the lanes a key, and ≤ 65,535 tokens; got H=${s.H}, K=${s.K}, D=${s.D}, T=${s.T}, ${this.layout.lanes} lanes a key; hint: use the split attention (attention_gqa)`);
    }
    if (rope.D !== s.D) throw new Error(`attention_decode: the RoPE table's head dim ${rope.D} is not the layer's ${s.D}`);
    const { keys, threads } = this.layout;
    if (threads % 32 || threads > 256 || (keys !== 1 && keys !== 2)) throw new Error(`attention_decode: layout of ${threads} threads and ${keys} keys a trip; hint: threads a multiple of 32 up to 256, 1 or 2 keys`);
    const pl = this.ctx.pipelines.getSync('attention_decode', source, { GQ: s.H / s.K, HD: s.D, LK: this.lanesFor(s.D), KU: keys, WG: threads });
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.L], ['f32', 1 / Math.sqrt(s.D)], ['u32', rope.maxPos]]);
    rec.dispatch(pl, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, b.out, b.lse, rope.buffer], [s.H, s.T]);
  }
}
