// LoRA training through the frozen base: forward of a micro-batch of sequences keeping only each
// layer's input (T·C floats per layer), completion-token log-probs through the chunked LM head,
// and backward that re-runs one layer's forward at a time to recompute its activations, then
// propagates dx down and accumulates dA, dB of every LoRA matrix. Memory grows with one layer's
// activations plus L+1 saved residual streams, not with all layers' activations.
// Layout: src/model/train-layout.ts — the sequences of one prompt share its rows, each completion a
// branch after it; scored rows gathered from the rows that predict them, gradients summed back.
import type { GpuContext } from '../gpu/device';
import type { Recorder } from '../gpu/encoder';
import { LmLogprobKernel } from '../kernels/lm_logprob';
import { uploadRopeTable, type RopeTable } from '../kernels/rope';
import { RmsNormBackwardKernel } from '../kernels/rmsnorm_backward';
import { AttentionBackwardKernel } from '../kernels/attention_backward';
import { GatherRowsKernel } from '../kernels/gather_rows';
import type { Weight } from '../kernels/matmul';
import type { LoraAdapter, LoraLinear } from '../lora/adapter';
import type { FusedName } from '../lora/targets';
import { engineKernels, type EngineKernels } from './kernels';
import { encodeLayerForward, encodeLinear, type LayerActs } from './layer';
import { qkvSlices, type ModelWeights } from './weights';

/** Gradient buffers shaped like an adapter's: per layer and fused weight, dA f32[S·R, K] and dB f32[N, R]. */
export type LoraGradLayers = Array<Record<FusedName, { A: GPUBuffer; B: GPUBuffer }>>;

/** A micro-batch on the GPU, laid out by trainLayout (src/model/train-layout.ts). */
export interface TrainBatch {
  /** sequences, rows, KV-cache positions per slot, scored rows */
  B: number;
  T: number;
  L: number;
  M: number;
  /** i32[T] token id, cache slot, position and cache fan-out of each row; i32[T, 4] attention spans */
  ids: GPUBuffer;
  slot: GPUBuffer;
  pos: GPUBuffer;
  fan: GPUBuffer;
  spans: GPUBuffer;
  /** the most rows that attend any key row (train-layout.ts maxQueries): the attention backward's dk/dv split */
  maxQueries: number;
  /** i32[M] the token each scored row predicts */
  targets: GPUBuffer;
  /** i32[M] the row that predicts scored row m; and the CSR lists of row r's scored rows (GatherRowsKernel sums them back) */
  gather: GPUBuffer;
  scatter: { off: GPUBuffer; idx: GPUBuffer };
}

export interface BackpropOptions {
  /** most rows (TrainBatch.T) in one micro-batch */
  maxTokens: number;
  /** most positions per sequence (prompt + completion) */
  maxSeqLen: number;
  /** most sequences in one micro-batch (KV-cache slots) */
  maxSeqs: number;
  /** most scored rows */
  maxRows: number;
  maxRank: number;
  /** vocabulary rows per LM-head chunk */
  vocabChunk?: number;
}

export class Backprop {
  private saved: GPUBuffer[];
  private acts: LayerActs;
  private b: Record<'x' | 'xmid' | 'xn2' | 'dx' | 'dxmid' | 'dxn' | 'dqkv' | 'datt' | 'dgu' | 'dh' | 'du' | 'kc' | 'vc' | 'hid' | 'dhid' | 'delta', GPUBuffer>;
  /** f32[M] outputs of the last log-prob pass, and dlogp f32[M] written by the caller before backward */
  readonly logp: GPUBuffer;
  readonly lse: GPUBuffer;
  readonly entropy: GPUBuffer;
  readonly dlogp: GPUBuffer;
  /** u32[maxRows + 1] = 0, 1, 2, …: the gather's CSR offsets, one row per list (uploaded once) */
  private oneEach: GPUBuffer;

  private constructor(
    readonly ctx: GpuContext, readonly weights: ModelWeights, private k: EngineKernels, private rope: RopeTable,
    private lm: LmLogprobKernel, private rmsBack: RmsNormBackwardKernel, readonly attBack: AttentionBackwardKernel, private rows: GatherRowsKernel, readonly opts: BackpropOptions,
  ) {
    const c = weights.config;
    const T = opts.maxTokens;
    const C = c.hiddenSize;
    const I = c.intermediateSize;
    const m = ctx.memory;
    const nqkv = qkvSlices(c).total;
    const f = (label: string, n: number) => m.create(`bp.${label}`, n * 4);
    this.saved = Array.from({ length: c.numLayers + 1 }, (_, l) => f(`saved${l}`, T * C));
    this.acts = { xn: f('xn', T * C), qkv: f('qkv', T * nqkv), att: f('att', T * C), lse: f('lse', T * c.numHeads), gu: f('gu', T * 2 * I), h: f('h', T * I), u: f('u', T * 3 * opts.maxRank) };
    const kvFloats = opts.maxSeqs * opts.maxSeqLen * c.numKvHeads * c.headDim;
    this.b = {
      x: f('x', T * C), xmid: f('xmid', T * C), xn2: f('xn2', T * C), dx: f('dx', T * C), dxmid: f('dxmid', T * C), dxn: f('dxn', T * C),
      dqkv: f('dqkv', T * nqkv), datt: f('datt', T * C), dgu: f('dgu', T * 2 * I), dh: f('dh', T * I), du: f('du', T * 3 * opts.maxRank),
      kc: f('kc', kvFloats), vc: f('vc', kvFloats), hid: f('hid', opts.maxRows * C), dhid: f('dhid', opts.maxRows * C), delta: f('delta', T * c.numHeads),
    };
    this.logp = f('logp', opts.maxRows);
    this.lse = f('lmlse', opts.maxRows);
    this.entropy = f('entropy', opts.maxRows);
    this.dlogp = f('dlogp', opts.maxRows);
    this.oneEach = m.upload('bp.oneEach', Int32Array.from({ length: opts.maxRows + 1 }, (_, i) => i));
  }

  static async create(ctx: GpuContext, weights: ModelWeights, opts: BackpropOptions): Promise<Backprop> {
    const k = await engineKernels(ctx);
    const rope = uploadRopeTable(ctx, weights.config.ropeTheta, weights.config.headDim, opts.maxSeqLen);
    const [lm, rmsBack, attBack, rows] = await Promise.all([
      LmLogprobKernel.create(ctx, k.matmul, opts.vocabChunk ?? 8192), RmsNormBackwardKernel.create(ctx), AttentionBackwardKernel.create(ctx), GatherRowsKernel.create(ctx),
    ]);
    return new Backprop(ctx, weights, k, rope, lm, rmsBack, attBack, rows, opts);
  }

  /** GPU bytes this trainer holds (activations, saved inputs, LM-head chunk). */
  get bytes(): number {
    const all = [...this.saved, ...Object.values(this.acts), ...Object.values(this.b), this.logp, this.lse, this.entropy, this.dlogp, this.oneEach];
    return all.reduce((s, b) => s + b.size, 0) + this.lm.chunkBytes(this.opts.maxRows);
  }

  /**
   * Forward of the micro-batch (LoRA on when `lora` is given), log-probs of the scored rows under
   * softmax(logits / temperature) into `logp` (and lse, entropy). `save` keeps each layer's input for backward.
   */
  encodeLogprobs(rec: Recorder, batch: TrainBatch, lora: LoraAdapter | null, temperature: number, save: boolean): void {
    const c = this.weights.config;
    const T = batch.T;
    this.check(batch);
    const x = this.b.x;
    this.k.embed.encode(rec, batch.ids, this.weights.embed, x, T);
    this.weights.layers.forEach((w, l) => {
      if (save) rec.copy(x, 0, this.saved[l], 0, T * this.C * 4);
      encodeLayerForward(rec, this.k, this.rope, c, w, lora, lora?.layers[l], this.acts, x, T, this.io(batch));
    });
    if (save) rec.copy(x, 0, this.saved[c.numLayers], 0, T * this.C * 4);
    this.encodeHead(rec, batch, x, temperature);
  }

  /**
   * Each layer's input and the last layer's output, f32[maxTokens, C] each: what encodeLogprobs(save)
   * keeps for backward, or what a rollout saved there at the training layout's rows (generate's save).
   */
  get savedInputs(): readonly GPUBuffer[] {
    return this.saved;
  }

  /**
   * encodeLogprobs(save = true) without running the layers, when savedInputs already hold the
   * batch's rows under this adapter (the step's rollout saved them): the final norm and the LM head.
   */
  encodeLogprobsSaved(rec: Recorder, batch: TrainBatch, temperature: number): void {
    this.check(batch);
    this.encodeHead(rec, batch, this.saved[this.weights.config.numLayers], temperature);
  }

  /** final norm of x [T, C], the scored rows gathered, their log-probs (logp, lse, entropy) */
  private encodeHead(rec: Recorder, batch: TrainBatch, x: GPUBuffer, temperature: number): void {
    this.k.rmsnorm.encode(rec, x, this.weights.finalNorm, this.acts.xn, batch.T, this.C, this.weights.config.rmsNormEps);
    this.rows.encode(rec, { src: this.acts.xn, off: this.oneEach, idx: batch.gather, dst: this.b.hid }, batch.M, this.C);
    this.lm.encode(rec, this.weights.lmHead, batch.M, temperature, { hidden: this.b.hid, targets: batch.targets, logp: this.logp, lse: this.lse, entropy: this.entropy });
  }

  /**
   * Backward from dlogp (the caller wrote it) after encodeLogprobs(save = true) or
   * encodeLogprobsSaved of the same batch: accumulates into grads (dA, dB += …). Untargeted slices
   * receive zero gradients.
   */
  encodeBackward(rec: Recorder, batch: TrainBatch, lora: LoraAdapter, grads: LoraGradLayers, temperature: number): void {
    const c = this.weights.config;
    const T = batch.T;
    const C = this.C;
    this.check(batch);
    // d final hidden: LM head backward on the scored rows, summed back into the rows that predicted
    // them (a shared prompt's last row predicts every branch's first token; zeros where none)
    // (dgu, free until the last layer's backward, is the split-K scratch of its transposed matmuls)
    this.lm.encodeBackward(rec, this.weights.lmHead, batch.M, temperature, { hidden: this.b.hid, targets: batch.targets, lse: this.lse, dlogp: this.dlogp, dhidden: this.b.dhid }, false, { scratch: this.b.dgu });
    this.rows.encode(rec, { src: this.b.dhid, ...batch.scatter, dst: this.b.dxn }, T, C);
    // final norm: dx = rmsnorm_backward(x_L, finalNorm, d hidden)
    this.rmsBack.encode(rec, this.saved[c.numLayers], this.weights.finalNorm, this.b.dxn, this.b.dx, T, C, c.rmsNormEps);
    for (let l = c.numLayers - 1; l >= 0; l--) this.layerBackward(rec, l, batch, lora, grads[l]);
  }

  private layerBackward(rec: Recorder, l: number, batch: TrainBatch, lora: LoraAdapter, g: LoraGradLayers[number]): void {
    const c = this.weights.config;
    const T = batch.T;
    const C = this.C;
    const I = c.intermediateSize;
    const w = this.weights.layers[l];
    const ll = lora.layers[l];
    const { xmid, xn2, dx, dxmid, dxn, dqkv, datt, dgu, dh } = this.b;
    const a = this.acts;
    // recompute the layer's forward from its saved input up to the SwiGLU: xmid becomes x after the
    // attention residual (the MLP's input), xn2 the MLP's normed input
    rec.copy(this.saved[l], 0, xmid, 0, T * C * 4);
    encodeLayerForward(rec, this.k, this.rope, c, w, lora, ll, a, xmid, T, this.io(batch), { xnMlp: xn2 });
    const xAfterAtt = xmid;
    // MLP: down
    this.linearBackward(rec, dx, a.h, w.down, ll.down, g.down, lora, dh, T, false);
    this.k.swiglu.encodeBackward(rec, a.gu, dh, dgu, T, I);
    this.linearBackward(rec, dgu, xn2, w.gateUp, ll.gateUp, g.gateUp, lora, dxn, T, false);
    // dxmid = dx + rmsnorm_backward(x after attention, postNorm, dxn)
    rec.copy(dx, 0, dxmid, 0, T * C * 4);
    this.rmsBack.encode(rec, xAfterAtt, w.postNorm, dxn, dxmid, T, C, c.rmsNormEps, true);
    // attention block: o, attention, rope, q|k|v
    this.linearBackward(rec, dxmid, a.att, w.o, ll.o, g.o, lora, datt, T, false);
    const shape = { T, H: c.numHeads, K: c.numKvHeads, D: c.headDim };
    // (dh is free here: the dk/dv split's scratch)
    this.attBack.encode(rec, shape, { qkv: a.qkv, out: a.att, lse: a.lse, dout: datt, dqkv, delta: this.b.delta, spans: batch.spans }, { scratch: dh, maxQueries: batch.maxQueries });
    this.k.rope.encodeBackward(rec, dqkv, batch.pos, this.rope, T, c.numHeads, c.numKvHeads);
    // acts.xn still holds the attention block's normed input (the MLP used xn2)
    this.linearBackward(rec, dqkv, a.xn, w.qkv, ll.qkv, g.qkv, lora, dxn, T, false);
    // dx_in = dxmid + rmsnorm_backward(x_in, inputNorm, dxn)
    rec.copy(dxmid, 0, dx, 0, T * C * 4);
    this.rmsBack.encode(rec, this.saved[l], w.inputNorm, dxn, dx, T, C, c.rmsNormEps, true);
  }

  /**
   * For y = x·Wᵀ + scale·(x·Aᵀ)·Bᵀ with upstream dy [T, N]:
   *   dB_s += scale·dy_sᵀ·u_s,  du_s = scale·dy_s·B_s,  dA += duᵀ·x,  dx (+)= dy·W + du·A.
   */
  private linearBackward(rec: Recorder, dy: GPUBuffer, x: GPUBuffer, w: Weight, lin: LoraLinear, g: { A: GPUBuffer; B: GPUBuffer }, lora: LoraAdapter, dx: GPUBuffer, T: number, accumulate: boolean): void {
    const R = lora.r;
    const S = lin.starts.length;
    const ldu = S * R;
    const N = lin.N;
    const K = lin.K;
    const gemm = this.k.gemm;
    // split-K scratch: dh, or dgu where dh is the output (down's backward; dgu is written after it)
    this.k.matmul.encodeTransposed(rec, dy, w, dx, T, { accumulate, split: { scratch: dx === this.b.dh ? this.b.dgu : this.b.dh } });
    if (!lin.enabled.some(Boolean)) return;
    const u = this.acts.u;
    const du = this.b.du;
    encodeLinearU(rec, this.k, x, lin, u, T, ldu);
    // every slice, targeted or not: an untargeted slice has A = B = 0, so its u, du, dA, dB are exactly 0
    for (let s = 0; s < S; s++) {
      const r0 = lin.starts[s];
      const ns = (s + 1 < S ? lin.starts[s + 1] : N) - r0;
      // dB_s [ns, R] += scale · dy[:, r0:r0+ns]ᵀ · u[:, sR:(s+1)R]
      gemm.encode(rec, dy, u, g.B, ns, R, T, { transA: true, lda: N, offA: r0, ldb: ldu, offB: s * R, ldc: R, offC: r0 * R, alpha: lora.scale, beta: 1 });
      // du[:, sR:(s+1)R] = scale · dy[:, r0:r0+ns] · B_s[ns, R]
      gemm.encode(rec, dy, lin.B, du, T, R, ns, { lda: N, offA: r0, ldb: R, offB: r0 * R, ldc: ldu, offC: s * R, alpha: lora.scale, beta: 0 });
    }
    // dA [S·R, K] += duᵀ · x
    gemm.encode(rec, du, x, g.A, ldu, K, T, { transA: true, lda: ldu, alpha: 1, beta: 1 });
    // dx += du · A
    gemm.encode(rec, du, lin.A, dx, T, K, ldu, { beta: 1 });
  }

  private get C(): number {
    return this.weights.config.hiddenSize;
  }

  private io(batch: TrainBatch) {
    // dh: free in every forward (backward writes it after the recompute and reads it before the next layer's)
    return { slot: batch.slot, pos: batch.pos, fan: batch.fan, kc: this.b.kc, vc: this.b.vc, L: batch.L, scratch: this.b.dh };
  }

  private check(batch: TrainBatch): void {
    const o = this.opts;
    if (batch.T > o.maxTokens || batch.L > o.maxSeqLen || batch.B > o.maxSeqs || batch.M > o.maxRows) {
      throw new Error(`micro-batch of ${batch.B} sequences, ${batch.T} rows, ${batch.L} positions and ${batch.M} scored rows exceeds the trainer's ${o.maxSeqs} sequences / ${o.maxTokens} rows / ${o.maxSeqLen} positions / ${o.maxRows} scored rows; hint: size the trainer with maxLayoutRows`);
    }
  }

  destroy(): void {
    const m = this.ctx.memory;
    for (const b of [...this.saved, ...Object.values(this.acts), ...Object.values(this.b), this.logp, this.lse, this.entropy, this.dlogp, this.oneEach]) m.destroy(b);
    m.destroy(this.rope.buffer);
    this.lm.destroy();
  }
}

/** u[T, S·R] = x·Aᵀ (the LoRA down-projection of a linear's input) */
function encodeLinearU(rec: Recorder, k: EngineKernels, x: GPUBuffer, lin: LoraLinear, u: GPUBuffer, T: number, ldu: number): void {
  k.gemm.encode(rec, x, lin.A, u, T, ldu, lin.K, { transB: true });
}

export { encodeLinear };
