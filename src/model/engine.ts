// The Qwen2 forward pass on the GPU: embedding → L × (RMSNorm, q|k|v matmul with bias and LoRA,
// RoPE, KV-cache write, causal GQA attention, o matmul + residual, RMSNorm, gate|up matmul, SwiGLU,
// down matmul + residual) → final RMSNorm → LM head. Everything of one call is encoded into the
// caller's Recorder (one compute pass); nothing is read back here.
import type { GpuContext } from '../gpu/device';
import type { Binding, Recorder } from '../gpu/encoder';
import { uploadRopeTable, type RopeTable } from '../kernels/rope';
import { epilogue, isActive, type LoraAdapter, type LoraLinear } from '../lora/adapter';
import type { Weight } from '../kernels/matmul';
import { engineKernels, type EngineKernels } from './kernels';
import type { KvCache } from './kv-cache';
import { qkvSlices, type ModelWeights } from './weights';

/** Per-token inputs of one forward call: ids, cache slot and position, each i32[T]. */
export interface TokenInputs {
  ids: Binding;
  slot: Binding;
  pos: Binding;
}

/** Activations for up to maxT tokens (f32, row-major). */
interface Activations {
  x: GPUBuffer; // [T, C] residual stream
  xn: GPUBuffer; // [T, C] normed input of a block; after forward: final normed hidden
  qkv: GPUBuffer; // [T, Nqkv]
  att: GPUBuffer; // [T, H·D]
  lse: GPUBuffer; // [T, H]
  gu: GPUBuffer; // [T, 2I]
  h: GPUBuffer; // [T, I]
  u: GPUBuffer; // [T, 3R] LoRA x·Aᵀ
}

export interface EngineOptions {
  /** most tokens in one forward call (prefill length or decode rows) */
  maxTokens: number;
  /** most positions any sequence reaches (RoPE table size) */
  maxPositions: number;
  /** largest LoRA rank that will be used (sizes the u buffer) */
  maxRank?: number;
}

export class Engine {
  readonly C: number;
  readonly V: number;
  private acts: Activations;
  private constructor(readonly ctx: GpuContext, readonly weights: ModelWeights, readonly k: EngineKernels, readonly rope: RopeTable, readonly opts: Required<EngineOptions>) {
    const c = weights.config;
    this.C = c.hiddenSize;
    this.V = c.vocabSize;
    const T = opts.maxTokens;
    const m = ctx.memory;
    this.acts = {
      x: m.create('act.x', T * this.C * 4),
      xn: m.create('act.xn', T * this.C * 4),
      qkv: m.create('act.qkv', T * qkvSlices(c).total * 4),
      att: m.create('act.att', T * c.numHeads * c.headDim * 4),
      lse: m.create('act.lse', T * c.numHeads * 4),
      gu: m.create('act.gu', T * 2 * c.intermediateSize * 4),
      h: m.create('act.h', T * c.intermediateSize * 4),
      u: m.create('act.u', T * 3 * Math.max(1, opts.maxRank) * 4),
    };
  }

  static async create(ctx: GpuContext, weights: ModelWeights, opts: EngineOptions): Promise<Engine> {
    const k = await engineKernels(ctx);
    const rope = uploadRopeTable(ctx, weights.config.ropeTheta, weights.config.headDim, opts.maxPositions);
    return new Engine(ctx, weights, k, rope, { maxRank: 64, ...opts });
  }

  /** The final normed hidden states [T, C] after encodeForward. */
  get hidden(): GPUBuffer {
    return this.acts.xn;
  }

  /** Encodes the forward pass of T tokens; the final normed hidden states land in `hidden`. */
  encodeForward(rec: Recorder, T: number, io: TokenInputs, cache: KvCache, lora: LoraAdapter | null): void {
    const c = this.weights.config;
    if (T > this.opts.maxTokens) throw new Error(`forward of ${T} tokens exceeds the engine's ${this.opts.maxTokens}`);
    if (lora && lora.r > this.opts.maxRank) throw new Error(`LoRA rank ${lora.r} exceeds the engine's maxRank ${this.opts.maxRank}`);
    const { x, xn, qkv, att, lse, gu, h } = this.acts;
    const C = this.C;
    const I = c.intermediateSize;
    this.k.embed.encode(rec, io.ids, this.weights.embed, x, T);
    this.weights.layers.forEach((w, l) => {
      const ll = lora?.layers[l];
      // attention block
      this.k.rmsnorm.encode(rec, x, w.inputNorm, xn, T, C, c.rmsNormEps);
      this.linear(rec, xn, w.qkv, qkv, T, lora, ll?.qkv, false);
      this.k.rope.encode(rec, qkv, io.pos, this.rope, T, c.numHeads, c.numKvHeads);
      const shape = { T, H: c.numHeads, K: c.numKvHeads, D: c.headDim, L: cache.L };
      this.k.kvWrite.encode(rec, shape, { qkv, slot: io.slot, pos: io.pos, kc: cache.layers[l].k, vc: cache.layers[l].v });
      this.k.attention.encode(rec, shape, { qkv, kc: cache.layers[l].k, vc: cache.layers[l].v, slot: io.slot, pos: io.pos, out: att, lse });
      this.linear(rec, att, w.o, x, T, lora, ll?.o, true);
      // MLP block
      this.k.rmsnorm.encode(rec, x, w.postNorm, xn, T, C, c.rmsNormEps);
      this.linear(rec, xn, w.gateUp, gu, T, lora, ll?.gateUp, false);
      this.k.swiglu.encode(rec, gu, h, T, I);
      this.linear(rec, h, w.down, x, T, lora, ll?.down, true);
    });
    this.k.rmsnorm.encode(rec, x, this.weights.finalNorm, xn, T, C, c.rmsNormEps);
  }

  /** logits f32[rows, V] = hidden[row0 .. row0+rows) · Eᵀ (the tied or separate LM head). */
  encodeLogits(rec: Recorder, out: Binding, rows: number, row0 = 0): void {
    const x: Binding = row0 === 0 ? this.acts.xn : { buffer: this.acts.xn, offset: row0 * this.C * 4, size: rows * this.C * 4 };
    this.k.matmul.encode(rec, x, this.weights.lmHead, out, rows);
  }

  /** y (+)= x·Wᵀ + bias + LoRA, the LoRA term only when this fused weight has a target. */
  private linear(rec: Recorder, x: GPUBuffer, w: Weight, y: GPUBuffer, T: number, lora: LoraAdapter | null, lin: LoraLinear | undefined, accumulate: boolean): void {
    if (!lora || !lin || !isActive(lin)) {
      this.k.matmul.encode(rec, x, w, y, T, { accumulate });
      return;
    }
    const ldu = lin.starts.length * lora.r;
    // u[T, S·R] = x[T, K] · A[S·R, K]ᵀ
    this.k.gemm.encode(rec, x, lin.A, this.acts.u, T, ldu, lin.K, { transB: true });
    this.k.matmul.encode(rec, x, w, y, T, { accumulate, lora: epilogue(lora, lin, this.acts.u, ldu) });
  }

  destroy(): void {
    for (const b of Object.values(this.acts)) this.ctx.memory.destroy(b);
    this.ctx.memory.destroy(this.rope.buffer);
  }
}
