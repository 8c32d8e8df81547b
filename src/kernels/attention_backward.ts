// Causal GQA attention backward wrapper (shaders/attention_backward_{dq,dq_gqa,dkv}.wgsl): dqkv from
// dout, for the training forward only. Two dispatches, no atomics: query-major dq (which also writes
// Δ = Σ dout·out to a scratch buffer) then key-major dk/dv. The dq half runs by KV-head group
// (dq_gqa: one workgroup per kv head and token, each k/v load serving its G query heads) where the
// shape allows, else one workgroup per head and token (dq); the dk/dv half splits each (query, head)
// pair's dots over 4 lanes reading contiguous vec4 runs (dkv_lanes) where D is a multiple of 4, else
// one thread per pair (dkv).
//
// TRAINING LAYOUT (src/model/train-layout.ts; the kernels cannot check it): per row, spans i32[T, 4] =
// its unit's (start, P, n, end) — a shared prompt, then n branches step-major — from which
// shaders/train_spans.wgsl (prepended) finds the rows each query attends and the queries of each key:
// exactly the cells the forward's attention read through the KV cache, which rope_kv filled from
// this qkv. So k/v are read from qkv itself: no kc/vc/slot/pos bindings (which also keeps each
// kernel within the 8 storage buffers WebGPU guarantees).
import dqCode from '../../shaders/attention_backward_dq.wgsl?raw';
import dkvCode from '../../shaders/attention_backward_dkv.wgsl?raw';
import dqGqaCode from '../../shaders/attention_backward_dq_gqa.wgsl?raw';
import dkvLanesCode from '../../shaders/attention_backward_dkv_lanes.wgsl?raw';
import spansCode from '../../shaders/train_spans.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { composeSource } from '../gpu/pipelines';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { attentionThreads } from './attention_gqa';

export interface AttentionBackwardShape {
  /** rows of the training layout */
  T: number;
  H: number;
  K: number;
  D: number;
}

export interface AttentionBackwardBindings {
  /** f32[T, (H+2K)·D], rope applied: the forward's input (its k/v columns = the cache contents) */
  qkv: Binding;
  /** f32[T, H·D] and f32[T, H]: the forward's outputs */
  out: Binding;
  lse: Binding;
  /** f32[T, H·D]: gradient of the loss w.r.t. out */
  dout: Binding;
  /** f32[T, (H+2K)·D] (written, all of it): dq | dk | dv in the q | k | v columns of each token */
  dqkv: Binding;
  /** f32[T, H] scratch: Δ = Σ_d dout·out, written by the first dispatch, read by the second */
  delta: Binding;
  /** i32[T, 4] (start, P, n, end) of each row's unit in the training layout */
  spans: Binding;
}

export class AttentionBackwardError extends Error {
  override name = 'AttentionBackwardError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

const WG = 64;

/** Whether the dq half can run by KV-head group: G ≤ 8 query heads per kv head, D a multiple of 4, G·(D/4 + 1) ≤ 264. */
export function dqByGroup(H: number, K: number, D: number): boolean {
  const G = H / K;
  return Number.isInteger(G) && G <= 8 && D % 4 === 0 && G * (D / 4 + 1) <= 264;
}

export class AttentionBackwardKernel {
  /** force the variants (tests, benchmarks); null: dq by group where dqByGroup allows, dk/dv by lanes where D % 4 = 0 */
  dqVariant: 'group' | 'head' | null = null;
  dkvVariant: 'lanes' | 'thread' | null = null;
  /**
   * Threads of a dk/dv-by-lanes workgroup (a key row and kv head): 256 score 64 (query, head) pairs a
   * round where 128 score 32, halving the rounds of the rows many queries attend (a shared prompt's,
   * the long pole at the shared layout). H100 2026-12-05 ninth session (`bench-step --profile`, 2,168
   * rows, four runs): the attention backward 3.55–3.71 ms a layer with 256 against 4.56–4.70 with 128.
   */
  dkvThreads: 128 | 256 = 256;
  /**
   * Keys a dk/dv-by-lanes workgroup takes (1, 2 or 4): consecutive keys of a prompt or a branch share
   * their queries, so each q and dout row loaded serves that many keys (attention_backward_dkv_lanes.wgsl).
   * 4: H100, 2026-12-06 (`bench-step --profile`, 2,168 rows at the shared layout), the attention
   * backward 3.15 ms a layer with 4 keys, 3.76 with 2 and 3.74 with 1. Fewer where the workgroup
   * memory would not fit the device (dkvKeysFitting: 2 for D = 256 under the 16 KB default).
   */
  dkvKeys: 1 | 2 | 4 = 4;
  /**
   * (query, head) pairs a dk/dv-by-lanes workgroup takes at most where encode() gets a split scratch:
   * a block of keys with more (a shared prompt's: ≈ 2,100 queries × 6 heads at G = 8, prompt 128,
   * completion 256, where a branch's keys have ≤ 255 × 6 = 1,530) is cut into parts of about this
   * many, summed by a second dispatch. 0: never split. H100, 2026-12-06 (`bench-step --profile`,
   * 2,168 rows): the attention backward 3.23 ms a layer unsplit, 2.13 with parts of ≤ 4,096 pairs,
   * 2.14 with ≤ 2,048, 2.01 with ≤ 1,024.
   */
  dkvSplitPairs = 1024;
  private dummy: GPUBuffer | null = null;
  private constructor(private ctx: GpuContext, private dq: GPUComputePipeline, private dkv: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<AttentionBackwardKernel> {
    const [dq, dkv] = await Promise.all([
      ctx.pipelines.get('attention_backward_dq', composeSource(spansCode, dqCode), { WG }),
      ctx.pipelines.get('attention_backward_dkv', composeSource(spansCode, dkvCode), { WG }),
    ]);
    return new AttentionBackwardKernel(ctx, dq, dkv);
  }

  /**
   * qkv f32[T,(H+2K)·D], out f32[T,H·D], lse f32[T,H], dout f32[T,H·D], spans i32[T,4] → dqkv f32[T,(H+2K)·D] (delta f32[T,H] scratch).
   * split: a buffer free during the call, and the most query rows any key row has (the longest unit
   * of the layout): keys with more pairs than dkvSplitPairs get several dk/dv workgroups (dkvSplit).
   */
  encode(rec: Recorder, s: AttentionBackwardShape, b: AttentionBackwardBindings, split?: DkvSplitScratch): void {
    checkShape(s);
    const lanes = this.dkvVariant ? this.dkvVariant === 'lanes' : s.D % 4 === 0;
    const plan = lanes && split ? dkvSplit(s, split.maxQueries, this.dkvSplitPairs, split.scratch.size) : { CH: 0, parts: 1 };
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.D], ['f32', 1 / Math.sqrt(s.D)], ['u32', plan.CH]]);
    const gy = Math.min(s.T, 65535);
    const gz = Math.ceil(s.T / 65535);
    const group = this.dqVariant ? this.dqVariant === 'group' : dqByGroup(s.H, s.K, s.D);
    if (group && !dqByGroup(s.H, s.K, s.D)) throw new Error(`attention backward: dq by group needs G ≤ 8, D a multiple of 4 and G·(D/4+1) ≤ 264; got H=${s.H}, K=${s.K}, D=${s.D}`);
    if (group) {
      const dq = this.ctx.pipelines.getSync('attention_backward_dq_gqa', composeSource(spansCode, dqGqaCode), { GQ: s.H / s.K, HD: s.D, WG: attentionThreads(s.D) });
      rec.dispatch(dq, u, [b.qkv, b.out, b.lse, b.dout, b.dqkv, b.delta, b.spans], [s.K, gy, gz]);
    } else {
      rec.dispatch(this.dq, u, [b.qkv, b.out, b.lse, b.dout, b.dqkv, b.delta, b.spans], [s.H, gy, gz]);
    }
    if (lanes && s.D % 4) throw new Error(`attention backward: dk/dv by lanes needs D a multiple of 4; got D=${s.D}`);
    if (this.dkvThreads !== 128 && this.dkvThreads !== 256) throw new Error(`attention backward: dkvThreads must be 128 or 256; got ${this.dkvThreads}`);
    if (![1, 2, 4].includes(this.dkvKeys)) throw new Error(`attention backward: dkvKeys must be 1, 2 or 4; got ${this.dkvKeys}`);
    const keys = dkvKeysFitting(s.D, this.dkvThreads, this.dkvKeys, this.ctx.limits.maxComputeWorkgroupStorageSize ?? 16384);
    if (!lanes) {
      rec.dispatch(this.dkv, u, [b.qkv, b.lse, b.dout, b.delta, b.dqkv, b.spans], [s.K, gy, gz]);
      return;
    }
    const code = composeSource(spansCode, dkvLanesCode);
    const constants = { HD: s.D, WG: this.dkvThreads, KB: keys };
    const part = plan.parts > 1 ? split!.scratch : (this.dummy ??= this.ctx.memory.create('attention_backward.dummy', 16));
    rec.dispatch(this.ctx.pipelines.getSync('attention_backward_dkv_lanes', code, constants), u, [b.qkv, b.lse, b.dout, b.delta, b.dqkv, b.spans, part], [s.K * plan.parts, gy, gz]);
    if (plan.parts > 1) rec.dispatch(this.ctx.pipelines.getSync('attention_backward_dkv_lanes', code, constants, 'reduce'), u, [null, null, null, null, b.dqkv, b.spans, part], [s.K, gy, gz]);
  }
}

/** A buffer free during the attention backward, and the most query rows any key row of the layout has. */
export interface DkvSplitScratch {
  scratch: GPUBuffer;
  maxQueries: number;
}

/**
 * The dk/dv split: parts of CH pairs for the blocks whose leading key has more (parts: the most any
 * block gets; the grid's x is K·parts). Parts ≥ 1 keep [dk | dv] of every key row in the scratch
 * (T·K·2D floats a part), so CH grows until they fit. CH 0, parts 1: no split.
 */
export function dkvSplit(s: AttentionBackwardShape, maxQueries: number, pairs: number, scratchBytes: number): { CH: number; parts: number } {
  const most = maxQueries * (s.H / s.K);
  if (pairs <= 0 || most <= pairs) return { CH: 0, parts: 1 };
  const fit = Math.floor(scratchBytes / (s.T * s.K * 2 * s.D * 4)) + 1; // parts the scratch holds
  const parts = Math.min(Math.ceil(most / pairs), fit);
  if (parts < 2) return { CH: 0, parts: 1 };
  const CH = Math.ceil(most / parts);
  return { CH, parts: Math.ceil(most / CH) };
}

/** Workgroup memory of a dk/dv-by-lanes workgroup (attention_backward_dkv_lanes.wgsl): k and v of KB keys, the lanes' partials, P and dS, the offsets. */
export function dkvLanesBytes(D: number, WG: number, KB: number): number {
  const PB = WG / 4;
  return 2 * (D / 4) * KB * 16 + WG * KB * 8 + 2 * PB * KB * 4 + 2 * PB * 4;
}

/** The keys a dk/dv workgroup takes: `want`, halved until its workgroup memory fits the device's (4 keys of D = 256 at 256 threads need 18.9 KB; the WebGPU default is 16 KB). */
export function dkvKeysFitting(D: number, WG: number, want: number, limit: number): number {
  let kb = want;
  while (kb > 1 && dkvLanesBytes(D, WG, kb) > limit) kb /= 2;
  return kb;
}

function checkShape(s: AttentionBackwardShape): void {
  if (s.D > 256 || s.H % s.K) {
    throw new AttentionBackwardError(`attention backward supports head_dim ≤ 256 and H divisible by K; got D=${s.D}, H=${s.H}, K=${s.K}`, 'this model shape is not supported');
  }
}
