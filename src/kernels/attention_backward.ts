// Causal GQA attention backward wrapper (shaders/attention_backward_{dq,dq_gqa,dkv}.wgsl): dqkv from
// dout, for the training forward only. Two dispatches, no atomics: query-major dq (which also writes
// Δ = Σ dout·out to a scratch buffer) then key-major dk/dv. The dq half runs by KV-head group
// (dq_gqa: one workgroup per kv head and token, each k/v load serving its G query heads) where the
// shape allows, else one workgroup per head and token (dq); the dk/dv half splits each (query, head)
// pair's dots over 4 lanes reading contiguous vec4 runs (dkv_lanes) where D is a multiple of 4, else
// one thread per pair (dkv).
//
// TRAINING LAYOUT (required; the kernels cannot check GPU-side slot/pos, checkTrainingLayout can on
// the CPU): tokens are slot-major, sequence b owns tokens [b·Ts, (b+1)·Ts) at positions t − b·Ts,
// all in one cache slot (any slot, L ≥ Ts) whose positions 0..Ts−1 hold exactly those tokens' k/v,
// written from this qkv by rope_kv. So k/v are read from qkv itself: no kc/vc/slot/pos bindings
// (which also keeps each kernel within the 8 storage buffers WebGPU guarantees).
import dqCode from '../../shaders/attention_backward_dq.wgsl?raw';
import dkvCode from '../../shaders/attention_backward_dkv.wgsl?raw';
import dqGqaCode from '../../shaders/attention_backward_dq_gqa.wgsl?raw';
import dkvLanesCode from '../../shaders/attention_backward_dkv_lanes.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { attentionThreads } from './attention_gqa';

export interface AttentionBackwardShape {
  /** tokens = sequences · Ts */
  T: number;
  H: number;
  K: number;
  D: number;
  /** tokens per sequence (every sequence of the call has the same length) */
  Ts: number;
  /** positions per cache slot of the forward's cache, when known: checked to be ≥ Ts */
  L?: number;
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
  private constructor(private ctx: GpuContext, private dq: GPUComputePipeline, private dkv: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<AttentionBackwardKernel> {
    const [dq, dkv] = await Promise.all([
      ctx.pipelines.get('attention_backward_dq', dqCode, { WG }),
      ctx.pipelines.get('attention_backward_dkv', dkvCode, { WG }),
    ]);
    return new AttentionBackwardKernel(ctx, dq, dkv);
  }

  /** qkv f32[T,(H+2K)·D], out f32[T,H·D], lse f32[T,H], dout f32[T,H·D] → dqkv f32[T,(H+2K)·D] (delta f32[T,H] scratch) */
  encode(rec: Recorder, s: AttentionBackwardShape, b: AttentionBackwardBindings): void {
    checkShape(s);
    const u = params([['u32', s.T], ['u32', s.H], ['u32', s.K], ['u32', s.D], ['u32', s.Ts], ['f32', 1 / Math.sqrt(s.D)]]);
    const gy = Math.min(s.T, 65535);
    const gz = Math.ceil(s.T / 65535);
    const group = this.dqVariant ? this.dqVariant === 'group' : dqByGroup(s.H, s.K, s.D);
    if (group && !dqByGroup(s.H, s.K, s.D)) throw new Error(`attention backward: dq by group needs G ≤ 8, D a multiple of 4 and G·(D/4+1) ≤ 264; got H=${s.H}, K=${s.K}, D=${s.D}`);
    if (group) {
      const dq = this.ctx.pipelines.getSync('attention_backward_dq_gqa', dqGqaCode, { GQ: s.H / s.K, HD: s.D, WG: attentionThreads(s.D) });
      rec.dispatch(dq, u, [b.qkv, b.out, b.lse, b.dout, b.dqkv, b.delta], [s.K, gy, gz]);
    } else {
      rec.dispatch(this.dq, u, [b.qkv, b.out, b.lse, b.dout, b.dqkv, b.delta], [s.H, gy, gz]);
    }
    const lanes = this.dkvVariant ? this.dkvVariant === 'lanes' : s.D % 4 === 0;
    if (lanes && s.D % 4) throw new Error(`attention backward: dk/dv by lanes needs D a multiple of 4; got D=${s.D}`);
    const dkv = lanes ? this.ctx.pipelines.getSync('attention_backward_dkv_lanes', dkvLanesCode, { HD: s.D }) : this.dkv;
    rec.dispatch(dkv, u, [b.qkv, b.lse, b.dout, b.delta, b.dqkv], [s.K, gy, gz]);
  }
}

function checkShape(s: AttentionBackwardShape): void {
  if (s.D > 256 || s.H % s.K) {
    throw new AttentionBackwardError(`attention backward supports head_dim ≤ 256 and H divisible by K; got D=${s.D}, H=${s.H}, K=${s.K}`, 'this model shape is not supported');
  }
  if (!(s.Ts >= 1) || s.T % s.Ts !== 0) {
    throw new AttentionBackwardError(`attention backward needs T a multiple of the sequence length Ts; got T=${s.T}, Ts=${s.Ts}`,
      'the training layout packs equal-length sequences slot-major: pad every sequence of a micro-batch to Ts tokens');
  }
  if (s.L !== undefined && s.L < s.Ts) {
    throw new AttentionBackwardError(`the cache holds ${s.L} positions per slot but sequences have Ts=${s.Ts} tokens`, 'allocate the training KV cache with L ≥ Ts');
  }
}

/** slot/pos i32[T] of the training layout: sequence b → slot slots[b] (default b), pos = t − b·Ts. */
export function trainingSlotPos(numSeqs: number, Ts: number, slots?: readonly number[]): { slot: Int32Array; pos: Int32Array } {
  const slot = new Int32Array(numSeqs * Ts);
  const pos = new Int32Array(numSeqs * Ts);
  for (let t = 0; t < numSeqs * Ts; t++) {
    const b = Math.floor(t / Ts);
    slot[t] = slots ? slots[b] : b;
    pos[t] = t - b * Ts;
  }
  return { slot, pos };
}

/** Throws unless slot/pos i32[T] follow the training layout for sequences of Ts tokens. */
export function checkTrainingLayout(slot: Int32Array, pos: Int32Array, Ts: number): void {
  if (slot.length !== pos.length || slot.length % Ts !== 0) {
    throw new AttentionBackwardError(`slot (${slot.length}) and pos (${pos.length}) must have the same length, a multiple of Ts=${Ts}`, 'pad every sequence to Ts tokens');
  }
  const seen = new Set<number>();
  for (let t = 0; t < slot.length; t++) {
    const b = Math.floor(t / Ts);
    if (pos[t] !== t - b * Ts || slot[t] !== slot[b * Ts]) {
      throw new AttentionBackwardError(`token ${t}: slot ${slot[t]}, pos ${pos[t]}; the training layout needs slot ${slot[b * Ts]}, pos ${t - b * Ts}`,
        'sequence b must own tokens [b·Ts, (b+1)·Ts) in one slot at positions 0..Ts−1 (see trainingSlotPos)');
    }
    if (t % Ts === 0) {
      if (seen.has(slot[t])) throw new AttentionBackwardError(`slot ${slot[t]} is used by two sequences`, 'give each sequence its own cache slot');
      seen.add(slot[t]);
    }
  }
}
