// GQA-group attention wrapper (shaders/attention_gqa{,_combine}.wgsl): the same causal GQA attention
// as shaders/attention.wgsl, one workgroup per (kv head, token[, chunk]) scoring all G query heads
// of the kv head, so each k and v load serves G heads and neighbouring threads share a key's loads
// (attention.wgsl gives every (head, token) its own workgroup, each thread a whole key row).
// Few tokens (decode): the keys of each token are cut into S chunks scored in parallel, then a
// second dispatch merges the chunks' softmax partials — attention.wgsl gave G = 1 decode 12
// workgroups, each walking every key. Many tokens (prefill, training): one chunk, written directly.
// A decode step split into chunks can hand it the RoPE table instead of running rope_kv first
// (`rope`: q and the token's own k rotated by the partials, which read that key and its v from
// workgroup memory; the merge writes them to the cache — the partials' cache stays read-only). That
// binds 9 storage buffers (canRope); without it the kernels fit WebGPU's default 8.
import partialCode from '../../shaders/attention_gqa.wgsl?raw';
import combineCode from '../../shaders/attention_gqa_combine.wgsl?raw';
import combineKvCode from '../../shaders/attention_gqa_combine_kv.wgsl?raw';
import combineNoKvCode from '../../shaders/attention_gqa_combine_nokv.wgsl?raw';
import rotCode from '../../shaders/rope_rot.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { composeSource } from '../gpu/pipelines';
import type { AttentionShape } from './attention';
import type { RopeTable } from './rope';

/** The partials' RoPE table (binding 9) where they rotate, and a stand-in that binds nothing where they do not (8 storage buffers then). */
const TABLE = '@group(0) @binding(9) var<storage, read> table: array<vec4<f32>>;\nfn rope_cs(i: u32) -> vec4<f32> { return table[i]; }';
const NO_TABLE = 'fn rope_cs(i: u32) -> vec4<f32> { return vec4(0.0); }';
const partialSource = composeSource(rotCode, NO_TABLE, partialCode);
const partialRopeSource = composeSource(rotCode, TABLE, partialCode);
/** Storage buffers the RoPE-fused decode attention binds (the partials and the merge that writes the cache): one over WebGPU's default 8. */
export const ROPE_ATTENTION_STORAGE_BUFFERS = 9;
/** The merge, and the merge that writes each token's rotated k and its v to the cache (after partials with RoPE in them). */
const combineSource = composeSource(combineNoKvCode, combineCode);
const combineKvSource = composeSource(rotCode, combineKvCode, combineCode);

/** Most query tokens whose keys are split into chunks (decode rows, short prompts). */
export const SPLIT_MAX_T = 32;
/**
 * Workgroups of the partial dispatch to aim for: a few per SM of a large GPU. A software adapter
 * pays per workgroup, not per latency hidden, so there one chunk per (token, kv head) (measured on
 * SwiftShader: S = 2–4 cost 2.5–4× the one-chunk time).
 */
export const TARGET_WORKGROUPS = { gpu: 256, software: 1 };
/** Shortest chunk: below it the merge costs more than the parallelism gains. */
const MIN_CHUNK = 16;
/** Most chunks per (token, kv head): the merge holds each chunk's (m, l) in workgroup memory (attention_gqa_combine.wgsl SMAX). */
export const MAX_CHUNKS = 256;
/** Keys a block of the partial kernel walks (attention_gqa.wgsl BK): chunks longer than a block are cut to whole blocks. */
const BLOCK = 32;

/**
 * Threads per workgroup of the by-group kernels (forward, merge, dq): 128 — one per dim of a
 * 128-wide head — or 32 for head dims under 64 (test models), where 128 would leave most idle;
 * each thread owns dims lid and lid + WG, so D ≤ 2·WG.
 */
export function attentionThreads(D: number): number {
  return D < 64 ? 32 : 128;
}

export interface GqaSplit {
  /** chunks per (token, kv head); 1: no partials, no merge */
  S: number;
  /** keys per chunk (S·CH ≥ L) */
  CH: number;
}

/** f32 elements of scratch a split needs: T·H·S·(D+2) (none for S = 1). */
export function splitScratch(s: AttentionShape, S: number): number {
  return S > 1 ? s.T * s.H * S * (s.D + 2) : 0;
}

/**
 * How to split the keys of shape s with `scratch` f32 elements of scratch, or null when this kernel
 * does not apply (G = H/K > 8, D > 256 or not a multiple of 4: attention.wgsl then). More than
 * SPLIT_MAX_T tokens, or too little scratch for two chunks: one chunk. `S` forces a chunk count
 * (tests, benchmarks); `target`: workgroups to aim for (TARGET_WORKGROUPS). Split chunks longer
 * than a block of keys are cut down to whole blocks (more chunks): a chunk of 48 walked a full block
 * and a half-empty one (H100, G = 16, 384 keys: 12 chunks of 32 against 8 of 48, step pass 4.485 →
 * 4.401 ms, LoRA 5.665 → 5.566; 16 of 24 and 24 of 16 were slower, 4.60 and 4.59).
 */
export function planSplit(s: AttentionShape, scratch: number, S?: number, target = TARGET_WORKGROUPS.gpu): GqaSplit | null {
  const G = s.H / s.K;
  if (!Number.isInteger(G) || G > 8 || s.D > 256 || s.D % 4) return null;
  const fit = Math.floor(scratch / (s.T * s.H * (s.D + 2)));
  const want = S ?? (s.T > SPLIT_MAX_T ? 1 : Math.min(Math.ceil(target / (s.T * s.K)), Math.ceil(s.L / MIN_CHUNK)));
  const most = Math.min(s.L, fit < 2 ? 1 : fit, MAX_CHUNKS);
  const n = Math.max(1, Math.min(want, most));
  let CH = Math.ceil(s.L / n);
  const whole = Math.floor(CH / BLOCK) * BLOCK;
  if (n > 1 && CH > BLOCK && CH % BLOCK && Math.ceil(s.L / whole) <= most) CH = whole;
  return { S: Math.ceil(s.L / CH), CH };
}

export class AttentionGqaKernel {
  /** workgroups to aim for when splitting (benchmarks: the hardware choice on SwiftShader); null: by adapter */
  targetOverride: number | null = null;
  /** chunks a trip of the merge's output loop (attention_gqa_combine.wgsl CU), their loads issued together */
  combineUnroll = 8;
  /** dummy: the unused part binding (writable) */
  private constructor(private ctx: GpuContext, private dummy: GPUBuffer) {}

  static async create(ctx: GpuContext): Promise<AttentionGqaKernel> {
    return new AttentionGqaKernel(ctx, ctx.memory.create('attention_gqa.unused', 16));
  }

  /** planSplit for this device (see TARGET_WORKGROUPS) */
  plan(s: AttentionShape, scratch: number, S?: number): GqaSplit | null {
    return planSplit(s, scratch, S, this.targetOverride ?? (this.ctx.adapter.isFallback ? TARGET_WORKGROUPS.software : TARGET_WORKGROUPS.gpu));
  }

  /** Whether encode can take `rope` for this head dim and split (its rotation moves whole vec4s: D a multiple of 8; the merge writes the cache: S > 1). */
  static ropeFusable(D: number, split: GqaSplit): boolean {
    return D % 8 === 0 && split.S > 1;
  }

  /** ropeFusable, on this device: its kernels bind ROPE_ATTENTION_STORAGE_BUFFERS storage buffers (rope_kv and the plain kernels fit the default 8). */
  canRope(D: number, split: GqaSplit): boolean {
    return AttentionGqaKernel.ropeFusable(D, split) && (this.ctx.limits.maxStorageBuffersPerShaderStage ?? 0) >= ROPE_ATTENTION_STORAGE_BUFFERS;
  }

  /**
   * qkv f32[T, (H+2K)·D] (rope applied), kc/vc f32[B, L, K, D], slot/pos i32[T]
   * → out f32[T, H·D], lse f32[T, H]; part: scratch of ≥ splitScratch(s, split.S) f32 (S > 1 only).
   * `rope` (decode only: every token a different slot, whose keys before pos[t] are cached; S > 1):
   * qkv is not rotated yet; q and k are rotated here and each token's k and v written to (slot[t],
   * pos[t]) by the merge — what rope_kv did before this kernel (qkv itself is left unrotated).
   */
  encode(rec: Recorder, s: AttentionShape, split: GqaSplit, b: { qkv: Binding; kc: Binding; vc: Binding; slot: Binding; pos: Binding; part?: Binding; out: Binding; lse: Binding; rope?: RopeTable }): void {
    const direct = split.S === 1;
    if (!direct && !b.part) throw new Error(`attention_gqa: ${split.S} chunks need a scratch buffer of ${splitScratch(s, split.S)} f32`);
    if (b.rope && (b.rope.D !== s.D || !this.canRope(s.D, split))) throw new Error(`attention_gqa: RoPE in the attention needs the table's head dim (${b.rope.D}) to be the layer's (${s.D}) and a multiple of 8, the keys split into chunks (${split.S}) and ${ROPE_ATTENTION_STORAGE_BUFFERS} storage buffers a shader (device: ${this.ctx.limits.maxStorageBuffersPerShaderStage}); hint: run rope_kv first`);
    const constants = { GQ: s.H / s.K, HD: s.D, DIRECT: direct ? 1 : 0, WG: attentionThreads(s.D), ROPE: b.rope ? 1 : 0 };
    const partial = this.ctx.pipelines.getSync('attention_gqa', b.rope ? partialRopeSource : partialSource, constants);
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.L], ['u32', split.S], ['u32', split.CH], ['f32', 1 / Math.sqrt(s.D)], ['u32', b.rope?.maxPos ?? 0]]);
    const gy = Math.min(s.T, 65535);
    rec.dispatch(partial, u, [b.qkv, b.kc, b.vc, b.slot, b.pos, direct ? this.dummy : b.part!, b.out, b.lse, ...(b.rope ? [b.rope.buffer] : [])], [s.K, gy, Math.ceil(s.T / 65535) * split.S]);
    if (direct) return;
    const cc = { GQ: s.H / s.K, HD: s.D, WG: attentionThreads(s.D), CU: this.combineUnroll };
    if (b.rope) {
      rec.dispatch(this.ctx.pipelines.getSync('attention_gqa_combine_kv', combineKvSource, cc), u, [b.part!, b.pos, b.out, b.lse, b.qkv, b.kc, b.vc, b.slot, b.rope.buffer], [s.H, s.T]);
    } else {
      rec.dispatch(this.ctx.pipelines.getSync('attention_gqa_combine', combineSource, cc), u, [b.part!, b.pos, b.out, b.lse], [s.H, s.T]);
    }
  }
}
