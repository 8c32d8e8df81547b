// The Qwen2 forward pass on the GPU: embedding → L × (RMSNorm, q|k|v matmul with bias and LoRA,
// RoPE, KV-cache write, causal GQA attention, o matmul + residual, RMSNorm, gate|up matmul, SwiGLU,
// down matmul + residual) → final RMSNorm → LM head. Everything of one call is encoded into the
// caller's Recorder (one compute pass); nothing is read back here.
import type { GpuContext } from '../gpu/device';
import type { Binding, Recorder } from '../gpu/encoder';
import { uploadRopeTable, type RopeTable } from '../kernels/rope';
import { GEMV_VARIANT_MAX_ROWS } from '../kernels/matmul';
import { mmaSupport } from '../kernels/matmul_mma';
import type { LoraAdapter } from '../lora/adapter';
import { engineKernels, type EngineKernels } from './kernels';
import type { KvCache } from './kv-cache';
import { encodeLayerForward, type LayerActs } from './layer';
import { qkvSlices, type ModelWeights } from './weights';

/** Per-token inputs of one forward call: ids, cache slot and position, each i32[T]. */
export interface TokenInputs {
  ids: Binding;
  slot: Binding;
  pos: Binding;
  /**
   * a decode step: every token is a different sequence's (distinct slots) and each sequence's keys
   * before pos[t] are in the cache — the attention may then rotate and cache the token's own k and
   * v itself (DecodeFusion.rope). Unset for a prefill (its tokens attend to each other's keys).
   */
  decode?: boolean;
}

/**
 * Where encodeForward saves each layer's input rows (and the last layer's output) for training:
 * dst[l] f32[rows, C] for l = 0 … layers, row (base + pos·stride) of a token (map i32[T, 2] = base,
 * stride per token; pos its position), the training layout's row (src/model/train-layout.ts).
 */
export interface RowSave {
  dst: readonly GPUBuffer[];
  map: Binding;
}

/** Activations for up to maxT tokens: the residual stream x [T, C] and one layer's (layer.ts). */
interface Activations extends LayerActs {
  x: GPUBuffer;
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
  /**
   * Decode forwards that save rows (RowSave) let each layer's down GEMV store its output there too
   * (MatmulOptions.save) where the device allows, instead of a scatter dispatch a layer (false: the
   * scatters; benchmarks compare them).
   */
  saveFused = true;
  /** rows of tile sums of squares x's buffer has room for (LayerIo.tileSums): decode sizes on a device with subgroup matrices, C a multiple of 64; else 0 */
  private readonly sumRows: number;
  private constructor(readonly ctx: GpuContext, readonly weights: ModelWeights, readonly k: EngineKernels, readonly rope: RopeTable, readonly opts: Required<EngineOptions>) {
    const c = weights.config;
    this.C = c.hiddenSize;
    this.V = c.vocabSize;
    const T = opts.maxTokens;
    const m = ctx.memory;
    this.sumRows = !mmaSupport(ctx) && this.C % 64 === 0 ? Math.min(T, GEMV_VARIANT_MAX_ROWS) : 0;
    this.acts = {
      // the residual stream [T, C], then room for a decode's Σx² by 16-column tiles [≤ 32 rows, C/16] (LayerIo.tileSums)
      x: m.create('act.x', (T * this.C + this.sumRows * (this.C / 16)) * 4),
      xn: m.create('act.xn', T * this.C * 4),
      qkv: m.create('act.qkv', T * qkvSlices(c).total * 4),
      att: m.create('act.att', T * c.numHeads * c.headDim * 4),
      lse: m.create('act.lse', T * c.numHeads * 4),
      gu: m.create('act.gu', T * 2 * c.intermediateSize * 4),
      h: m.create('act.h', T * c.intermediateSize * 4),
      u: m.create('act.u', T * 3 * Math.max(1, opts.maxRank) * 4),
      // shader-f16: the MLP block's normed input rounded to f16 for a decode gate|up GEMV that reads f16 (MatmulKernel.gemvX16Rows)
      ...(k.rmsnorm.f16 ? { xn16: m.create('act.xn16', Math.min(T, GEMV_VARIANT_MAX_ROWS) * this.C * 2) } : {}),
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
  encodeForward(rec: Recorder, T: number, io: TokenInputs, cache: KvCache, lora: LoraAdapter | null, save?: RowSave): void {
    const c = this.weights.config;
    if (save && save.dst.length !== c.numLayers + 1) throw new Error(`encodeForward: saving rows needs ${c.numLayers + 1} buffers (each layer's input and the output), got ${save.dst.length}`);
    if (T > this.opts.maxTokens) throw new Error(`forward of ${T} tokens exceeds the engine's ${this.opts.maxTokens}`);
    if (lora && lora.r > this.opts.maxRank) throw new Error(`LoRA rank ${lora.r} exceeds the engine's maxRank ${this.opts.maxRank}`);
    const x = this.acts.x;
    // the decode's tile sums of squares after the stream (LayerIo.tileSums); the first layer's input has none
    let have = false;
    const sums = (l: number) => (this.sumRows ? { tileSums: { at: this.opts.maxTokens * this.C, rows: this.sumRows, have: have && l > 0 } } : {});
    const keep = (l: number) => save && this.k.scatterRows.encode(rec, { src: x, pos: io.pos, map: save.map, dst: save.dst[l] }, T, this.C);
    // decode: each layer's down GEMV stores its output rows at the layout's rows too (one scatter
    // dispatch fewer a layer) where the device binds its 11 storage buffers; else the scatters
    const fused = !!save && this.k.matmul.variantFor(T) === 'gemv' && this.k.matmul.saveFusable && this.saveFused;
    this.k.embed.encode(rec, io.ids, this.weights.embed, x, T);
    this.weights.layers.forEach((w, l) => {
      if (l === 0 || !fused) keep(l);
      const kv = { slot: io.slot, pos: io.pos, decode: io.decode, kc: cache.layers[l].k, vc: cache.layers[l].v, L: cache.L, saveOut: fused && save ? { pos: io.pos, map: save.map, dst: save.dst[l + 1] } : undefined };
      have = encodeLayerForward(rec, this.k, this.rope, c, w, lora, lora?.layers[l], this.acts, x, T, { ...kv, ...sums(l) });
    });
    if (!fused) keep(c.numLayers);
    this.k.rmsnorm.encode(rec, x, this.weights.finalNorm, this.acts.xn, T, this.C, c.rmsNormEps);
  }

  /** logits f32[rows, V] = hidden[row0 .. row0+rows) · Eᵀ (the tied or separate LM head). */
  encodeLogits(rec: Recorder, out: Binding, rows: number, row0 = 0): void {
    const x: Binding = row0 === 0 ? this.acts.xn : { buffer: this.acts.xn, offset: row0 * this.C * 4, size: rows * this.C * 4 };
    this.k.matmul.encode(rec, x, this.weights.lmHead, out, rows);
  }

  destroy(): void {
    for (const b of Object.values(this.acts)) this.ctx.memory.destroy(b);
    this.ctx.memory.destroy(this.rope.buffer);
  }
}
