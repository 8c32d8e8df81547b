// Split-KV decode attention wrapper (shaders/attention_decode{,_combine}.wgsl): the same causal GQA
// attention as shaders/attention.wgsl, for few query tokens. The keys of each token are cut into S
// chunks scored in parallel (one workgroup per kv head, token and chunk, all G query heads of the
// kv head at once), then a second dispatch merges the chunks' softmax partials. The one-workgroup-
// per-(head, token) kernel gives decode only T·H workgroups (12 at G = 1), each walking every key.
import partialCode from '../../shaders/attention_decode.wgsl?raw';
import combineCode from '../../shaders/attention_decode_combine.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import type { AttentionShape } from './attention';

/** Most query tokens the split kernel is used for (decode rows, short prompts). */
export const DECODE_MAX_T = 32;
/**
 * Workgroups of the partial dispatch to aim for: a few per SM of a large GPU. A software adapter
 * pays per workgroup, not per latency hidden, so there one chunk per (token, kv head) (measured on
 * SwiftShader: S = 2–4 cost 2.5–4× the one-chunk time).
 */
export const TARGET_WORKGROUPS = { gpu: 256, software: 1 };
/** Shortest chunk: below it the merge costs more than the parallelism gains. */
const MIN_CHUNK = 16;

export interface DecodeSplit {
  /** chunks per (token, kv head) */
  S: number;
  /** keys per chunk (S·CH ≥ L) */
  CH: number;
}

/** f32 elements of scratch a split needs: T·H·S·(D+2). */
export function splitScratch(s: AttentionShape, S: number): number {
  return s.T * s.H * S * (s.D + 2);
}

/**
 * How to split the keys of shape s with `scratch` f32 elements of scratch, or null when the split
 * kernel does not apply (more than DECODE_MAX_T tokens, G = H/K > 8, D > 256 or not a multiple of
 * 4, or too little scratch for even one chunk). `S` forces a chunk count (tests, benchmarks).
 */
export function planSplit(s: AttentionShape, scratch: number, S?: number, target = TARGET_WORKGROUPS.gpu): DecodeSplit | null {
  const G = s.H / s.K;
  if (s.T > DECODE_MAX_T || !Number.isInteger(G) || G > 8 || s.D > 256 || s.D % 4) return null;
  const fit = Math.floor(scratch / splitScratch(s, 1));
  if (fit < 1) return null;
  const want = S ?? Math.min(Math.ceil(target / (s.T * s.K)), Math.ceil(s.L / MIN_CHUNK));
  const n = Math.max(1, Math.min(want, fit, s.L));
  return { S: Math.ceil(s.L / Math.ceil(s.L / n)), CH: Math.ceil(s.L / n) };
}

export class AttentionDecodeKernel {
  private constructor(private ctx: GpuContext) {}

  static async create(ctx: GpuContext): Promise<AttentionDecodeKernel> {
    return new AttentionDecodeKernel(ctx);
  }

  /** planSplit for this device (see TARGET_WORKGROUPS) */
  plan(s: AttentionShape, scratch: number, S?: number): DecodeSplit | null {
    return planSplit(s, scratch, S, this.ctx.adapter.isFallback ? TARGET_WORKGROUPS.software : TARGET_WORKGROUPS.gpu);
  }

  /**
   * qkv f32[T, (H+2K)·D] (rope applied), kc/vc f32[B, L, K, D], slot/pos i32[T]
   * → out f32[T, H·D], lse f32[T, H]; part: scratch of ≥ splitScratch(s, split.S) f32.
   */
  encode(rec: Recorder, s: AttentionShape, split: DecodeSplit, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; part: Binding; out: Binding; lse: Binding }): void {
    const G = s.H / s.K;
    const constants = { GQ: G, HD: s.D };
    const partial = this.ctx.pipelines.getSync('attention_decode', partialCode, constants);
    const combine = this.ctx.pipelines.getSync('attention_decode_combine', combineCode, constants);
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.L], ['u32', split.S], ['u32', split.CH], ['f32', 1 / Math.sqrt(s.D)]]);
    rec.dispatch(partial, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, b.part], [s.K, s.T, split.S]);
    rec.dispatch(combine, u, [b.part, b.pos, b.out, b.lse], [s.H, s.T]);
  }
}
