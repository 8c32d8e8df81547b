// A decode step's attention in one dispatch (shaders/attention_decode.wgsl): a workgroup per (query
// head — or a few of one KV head, sharing its key loads — and token) walks all of the token's keys,
// RoPE and the cache write inside, where the split kernel (attention_gqa.ts) takes two dispatches
// (key-chunk partials, then their merge). Its keys go to slots of LK lanes (a key's dot by a
// subgroup butterfly over the slot), so it needs subgroups at least LK wide. For few rows (a single
// stream, a small group), where the split's second dispatch costs more than its parallelism gains;
// off in the engine until timed (DecodeFusion.attentionOne). Optionally (an experiment, off) more
// workgroups beside it read a later kernel's weights into L2.
import code from '../../shaders/attention_decode.wgsl?raw';
import rotCode from '../../shaders/rope_rot.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { composeSource } from '../gpu/pipelines';
import type { AttentionShape } from './attention';
import type { RopeTable } from './rope';

/** The prefetch workgroups' weights (binding 9) where they run, and a stand-in that binds nothing where they do not (8 storage buffers then). */
const PF = '@group(0) @binding(9) var<storage, read> pf: array<vec4<u32>>;\nfn pf_load(i: u32) -> vec4<u32> { return pf[i]; }';
const NO_PF = 'fn pf_load(i: u32) -> vec4<u32> { return vec4(0u); }';
const source = composeSource('enable subgroups;', rotCode, NO_PF, code);
const prefetchSource = composeSource('enable subgroups;', rotCode, PF, code);
/** Storage buffers the kernel binds with prefetch workgroups: one over WebGPU's default 8. */
export const PREFETCH_STORAGE_BUFFERS = 9;
/** Compared with the XOR of the prefetched words (never equal in practice), so that the compiler keeps their loads. */
const MAGIC = [0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced5d3a];
/** Most vec4s of a head a lane holds (attention_decode.wgsl MAXV: D ≤ 32·LK), and of the sums over its heads (MAXA: QH·D ≤ 96·LK; past MAXV q is read from workgroup memory). */
const MAX_VEC4_A_LANE = 8;
const MAX_SUMS_A_LANE = 24;
const MAX_HEAD_DIM = 256;
/** Most query heads a workgroup (attention_decode.wgsl MAXH). */
const MAX_HEADS = 8;

/** How the kernel lays out its walk (override constants of attention_decode.wgsl). */
export interface AttentionDecodeLayout {
  /** lanes a key (1, 2, 4, …, 32; at most the subgroup width) */
  lanes: number;
  /** query heads a workgroup (they share each key's loads; a divisor of the query heads a KV head; default 1) */
  heads?: number;
  /** keys a slot walks a trip (1 or 2: their loads issued together) */
  keys: 1 | 2;
  /** threads a workgroup (a multiple of 32, ≤ 256) */
  threads: number;
}

/** The default layout: a 128-wide head at 4 vec4s a lane (8 lanes a key, 32 key slots), two keys a slot a trip. Untimed. */
export const ATTENTION_DECODE_LAYOUT: AttentionDecodeLayout = { lanes: 8, keys: 2, threads: 256 };

export class AttentionDecodeKernel {
  /** the walk's layout (benchmarks vary it); lanes are cut to the device's narrowest subgroup */
  layout: AttentionDecodeLayout = { ...ATTENTION_DECODE_LAYOUT };
  /**
   * Workgroups that read a later kernel's weights into L2 beside the attention (encode's `prefetch`;
   * 0: none). An experiment, off until timed: the layer (encodeLayerForward) passes its gate|up
   * weights' first part.
   */
  prefetchWorkgroups = 0;

  private constructor(private ctx: GpuContext) {}

  static async create(ctx: GpuContext): Promise<AttentionDecodeKernel> {
    return new AttentionDecodeKernel(ctx);
  }

  /**
   * The lanes a key this device runs `layout` with: the layout's, cut to the narrowest subgroup and to
   * the head's D/4 vec4s, raised until a lane holds ≤ 8 of a head's vec4s and ≤ 24 sums over the
   * layout's heads (0: none fits).
   */
  lanesFor(D: number, layout = this.layout): number {
    const widest = this.ctx.features.subgroups ? this.ctx.subgroupMinSize ?? 0 : 0;
    const heads = layout.heads ?? 1;
    const fitsLane = (lk: number) => D / 4 / lk <= MAX_VEC4_A_LANE && (heads * D) / 4 / lk <= MAX_SUMS_A_LANE;
    let lk = Math.min(layout.lanes, widest, D / 4);
    while (lk > 0 && lk < widest && lk < D / 4 && !fitsLane(lk)) lk *= 2;
    return lk > 0 && (D / 4) % lk === 0 && fitsLane(lk) ? lk : 0;
  }

  /** Whether the kernel takes this shape here: subgroups, whole query heads a KV head (the layout's heads a workgroup among them), D a multiple of 8 and ≤ 256 that a lane layout fits, and its tokens in one dispatch row. */
  fits(s: AttentionShape): boolean {
    const heads = this.layout.heads ?? 1;
    return s.H % s.K === 0 && heads >= 1 && heads <= MAX_HEADS && (s.H / s.K) % heads === 0 && s.D % 8 === 0 && s.D <= MAX_HEAD_DIM && s.T <= 65535 && this.lanesFor(s.D) > 0;
  }

  /** Whether encode runs prefetch workgroups here: some asked for and 9 storage buffers a shader. */
  canPrefetch(): boolean {
    return this.prefetchWorkgroups > 0 && (this.ctx.limits.maxStorageBuffersPerShaderStage ?? 0) >= PREFETCH_STORAGE_BUFFERS;
  }

  /**
   * qkv f32[T, (H+2K)·D] (not rotated), kc/vc f32[B, L, K, D] (token t's keys before pos[t] cached in slot[t]),
   * slot/pos i32[T] (distinct slots) → out f32[T, H·D], lse f32[T, H]; the token's rotated k and its v written to
   * (slot[t], pos[t]). qkv is left unrotated. `prefetch` (where canPrefetch): a read-only buffer window that
   * prefetchWorkgroups more workgroups read (its whole 16-byte words) and discard.
   */
  encode(rec: Recorder, s: AttentionShape, rope: RopeTable, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; out: Binding; lse: Binding; prefetch?: Binding }): void {
    if (!this.fits(s)) {
      throw new Error(`attention_decode: needs subgroups (${this.ctx.features.subgroups ? `${this.ctx.subgroupMinSize}+ lanes` : 'none here'}), H a multiple of K and H/K of the heads a workgroup, a head dim that is a multiple of 8, ≤ ${MAX_HEAD_DIM} and ≤ 32 × the lanes a key (96 × ÷ the heads), and ≤ 65,535 tokens; got H=${s.H}, K=${s.K}, D=${s.D}, T=${s.T}, ${this.layout.lanes} lanes a key, ${this.layout.heads ?? 1} heads a workgroup; hint: use the split attention (attention_gqa)`);
    }
    if (rope.D !== s.D) throw new Error(`attention_decode: the RoPE table's head dim ${rope.D} is not the layer's ${s.D}`);
    const { keys, threads } = this.layout;
    if (threads % 32 || threads > 256 || (keys !== 1 && keys !== 2)) throw new Error(`attention_decode: layout of ${threads} threads and ${keys} keys a trip; hint: threads a multiple of 32 up to 256, 1 or 2 keys`);
    // the prefetch window cut down to whole vec4s (it only warms the cache: a few bytes left out do not matter)
    const w = b.prefetch && this.canPrefetch() ? ('buffer' in b.prefetch ? b.prefetch : { buffer: b.prefetch }) : null;
    const pfBytes = w ? Math.floor((w.size ?? w.buffer.size - (w.offset ?? 0)) / 16) * 16 : 0;
    const pf = w && pfBytes > 0 ? { buffer: w.buffer, offset: w.offset ?? 0, size: pfBytes } : null;
    const pfX = pf ? Math.ceil(this.prefetchWorkgroups / s.T) : 0; // prefetch columns of the grid, each T workgroups
    const QH = this.layout.heads ?? 1;
    const pl = this.ctx.pipelines.getSync('attention_decode', pf ? prefetchSource : source, { GQ: s.H / s.K, QH, HD: s.D, LK: this.lanesFor(s.D), KU: keys, WG: threads, PF: pf ? 1 : 0 });
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.L], ['f32', 1 / Math.sqrt(s.D)], ['u32', rope.maxPos], ['u32', pfBytes / 16], ['u32', pfX], ...MAGIC.map((m): ['u32', number] => ['u32', m])]);
    rec.dispatch(pl, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, b.out, b.lse, rope.buffer, ...(pf ? [pf] : [])], [s.H / QH + pfX, s.T]);
  }
}
