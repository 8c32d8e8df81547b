// One Qwen2 decoder layer's forward, shared by inference (Engine) and training (Backprop, which
// re-runs it in backward to recompute activations): RMSNorm → q|k|v (+bias, +LoRA) → RoPE + KV write
// (one kernel; a decode step's attention does it itself) → causal GQA attention (by KV-head group;
// keys split into chunks for few tokens) → o (+LoRA) + residual → RMSNorm → gate|up (+LoRA) → SwiGLU
// → down (+LoRA) + residual. Decode fuses some of these (the norms into the GEMVs, SwiGLU into down's
// x reads or gate|up's stores, RoPE and the KV write into the attention, which for few rows may run
// in one dispatch: attention_decode).
import type { Binding, Recorder } from '../gpu/encoder';
import { GEMV_MAX_ROWS, type RowSaveTarget, type SplitK, type Weight, type XNorm } from '../kernels/matmul';
import type { RopeTable } from '../kernels/rope';
import { epilogue, isActive, type LoraAdapter, type LoraLayer, type LoraLinear } from '../lora/adapter';
import type { Qwen2Config } from './config';
import type { EngineKernels } from './kernels';
import type { LayerWeights } from './weights';

/** What the decode GEMVs do to x as they read it (encodeLinear); `split`: the tiled kernel's split-K scratch; `save`: the GEMV's copy of its stored rows; `swigluOut`: a gate|up GEMV that stores silu(gate)·up (MatmulOptions.ySwiglu); `x16`: x rounded to f16, which the weight's GEMV reads instead of x (MatmulOptions.gemvX16; the LoRA u still reads x); `sumSq`: y's tile sums of squares go to this float offset of y's buffer (MatmulOptions.ySumSq). */
export interface XInput { swiglu?: boolean; norm?: XNorm; split?: SplitK; save?: RowSaveTarget; swigluOut?: boolean; x16?: GPUBuffer; sumSq?: number }

/** Activation buffers of one layer (f32, row-major, T tokens). */
export interface LayerActs {
  /** [T, C] normed block input (attention block, then MLP block) */
  xn: GPUBuffer;
  /** [T, (H+2K)·D] after RoPE */
  qkv: GPUBuffer;
  /** [T, H·D] attention output */
  att: GPUBuffer;
  /** [T, H] attention log-sum-exp */
  lse: GPUBuffer;
  /** [T, 2I] gate|up output */
  gu: GPUBuffer;
  /** [T, I] SwiGLU output */
  h: GPUBuffer;
  /** [T, 3R] LoRA u = x·Aᵀ of the current linear */
  u: GPUBuffer;
  /** [≤ 32, C] f16: the MLP block's normed input for a gate|up GEMV that reads f16 (decode, shader-f16, MatmulKernel.gemvX16Rows) */
  xn16?: GPUBuffer;
}

export interface LayerIo {
  slot: Binding;
  pos: Binding;
  /** a decode step (TokenInputs.decode): distinct slots, earlier keys cached */
  decode?: boolean;
  /** the training layout's cache fan-out (rope_kv), absent for inference */
  fan?: Binding;
  /** this layer's K and V, f32[B, L, K, D] */
  kc: GPUBuffer;
  vc: GPUBuffer;
  L: number;
  /**
   * a buffer free during the layer (training: a gradient buffer): the tiled matmuls' split-K scratch
   * (SplitK). Without it (inference) the q|k|v, o and down matmuls of a tiled forward (prefill) take
   * acts.gu, which none of them reads or writes; gate|up (gu's writer) is not split then.
   */
  scratch?: GPUBuffer;
  /** decode GEMVs where MatmulKernel.saveFusable: the layer's output rows also go there, stored by the down GEMV */
  saveOut?: RowSaveTarget;
  /**
   * room in x's buffer for Σx² by 16-column tiles (f32[rows, C/16] at float offset `at`; MatmulKernel.mmaTileSums):
   * a decode on subgroup matrices passes the norms' Σx² there; `have`: they are the input x's (the
   * previous layer stored them, encodeLayerForward's result)
   */
  tileSums?: { at: number; rows: number; have: boolean };
}

/** Backward's recompute of a layer: what it keeps, and where it stops. */
export interface Recompute {
  /** receives the MLP block's normed input (acts.xn keeps the attention block's: backward needs both) */
  xnMlp: GPUBuffer;
}

/**
 * x f32[T, C] (residual stream) is updated in place to the layer's output; returns whether the tile
 * sums of its squares were stored too (LayerIo.tileSums: the next layer's `have`).
 * With `recompute` (backward) the layer stops after the SwiGLU: x is left as the stream after the
 * attention residual, and the down projection — whose output backward never reads (the next layer's
 * input is saved) — is not run.
 */
export function encodeLayerForward(
  rec: Recorder, k: EngineKernels, rope: RopeTable, c: Qwen2Config, w: LayerWeights, lora: LoraAdapter | null, ll: LoraLayer | undefined,
  acts: LayerActs, x: GPUBuffer, T: number, io: LayerIo, recompute?: Recompute,
): boolean {
  const C = c.hiddenSize;
  const { qkv, att, lse, gu, h } = acts;
  // decode, where k.decodeFusion says so (and the device can bind a fused GEMV's 9 buffers): the
  // RMSNorms go into the GEMVs that read them, the SwiGLU into gate|up's stores or the down GEMVs' x
  // reads (up to three dispatches less per layer); the backward's recompute reads xn and h afterwards,
  // so it keeps the kernels
  const decode = k.matmul.variantFor(T) === 'gemv' && !recompute;
  const sk = io.scratch ? { split: { scratch: io.scratch } } : decode ? {} : { split: { scratch: gu } };
  const skGateUp = io.scratch ? sk : {};
  // decode: gate|up stores h = silu(gate)·up itself where it can (no SwiGLU kernel); else, up to decodeFusion.swiglu rows, the down GEMV reads the pair
  const swigluOut = decode && k.matmul.swigluOutFor(w.gateUp, T);
  // decode on subgroup matrices (MatmulKernel.mmaFor): they apply the norm as they stage x where that pays (mmaNormFor), else read a normed x
  const mma = (w: Weight) => decode && k.matmul.mmaFor(w, Math.min(T, GEMV_MAX_ROWS));
  const fuseNorm = decode && k.matmul.normFusable && (mma(w.qkv) ? k.matmul.mmaNormFor(w.qkv, false) : T <= k.decodeFusion.norm);
  const fuseNormMlp = decode && k.matmul.normFusable && (mma(w.gateUp) ? k.matmul.mmaNormFor(w.gateUp, swigluOut) : T <= (k.decodeFusion.normMlp ?? k.decodeFusion.norm));
  const fuseSwiglu = decode && !swigluOut && T <= k.decodeFusion.swiglu;
  // all four matmuls on subgroup matrices: o and down store the tile sums of the residual stream's squares,
  // gate|up and the next q|k|v take their Σx² from those (both norms fused, no workgroup re-reads its rows)
  const mm = k.matmul;
  const ts = io.tileSums;
  const sums = decode && !fuseSwiglu && mm.mmaTileSums && mm.normFusable && !!ts && T <= ts.rows && [w.qkv, w.o, w.down].every((v) => mm.mmaEvery(v, T)) && mm.mmaEvery(w.gateUp, T, { ySwiglu: swigluOut }) ? ts : undefined;
  const sumSq = sums?.at;
  if (fuseNorm || sums?.have) {
    encodeLinear(rec, k, x, w.qkv, qkv, T, lora, ll?.qkv, false, acts.u, { norm: { w: w.inputNorm, eps: c.rmsNormEps, tileSums: sums?.have ? sums.at : undefined } });
  } else {
    k.rmsnorm.encode(rec, x, w.inputNorm, acts.xn, T, C, c.rmsNormEps);
    encodeLinear(rec, k, acts.xn, w.qkv, qkv, T, lora, ll?.qkv, false, acts.u, sk);
  }
  const shape = { T, H: c.numHeads, K: c.numKvHeads, D: c.headDim, L: io.L };
  // by KV-head group; few tokens (decode): keys split into chunks, their partials in gu (dead until gate|up rewrites it)
  const split = k.attentionGqa.plan(shape, gu.size / 4);
  // few decode rows (DecodeFusion.attentionOne): RoPE, the cache write and the attention in one dispatch
  const one = !recompute && !!io.decode && !io.fan && T <= (k.decodeFusion.attentionOne ?? 0) && k.attentionDecode.fits(shape);
  // a decode step split into key chunks: the attention rotates q and k and its merge writes the token's k and v (no rope_kv dispatch)
  const ropeInAttention = !one && !!split && !recompute && !!io.decode && !io.fan && k.decodeFusion.rope && k.attentionGqa.canRope(c.headDim, split);
  if (one) k.attentionDecode.encode(rec, shape, rope, { qkv, kc: io.kc, vc: io.vc, slot: io.slot, pos: io.pos, out: att, lse });
  else {
    if (!ropeInAttention) k.ropeKv.encode(rec, shape, rope, { qkv, slot: io.slot, pos: io.pos, kc: io.kc, vc: io.vc, fan: io.fan });
    if (split) k.attentionGqa.encode(rec, shape, split, { qkv, kc: io.kc, vc: io.vc, slot: io.slot, pos: io.pos, part: gu, out: att, lse, rope: ropeInAttention ? rope : undefined });
    else k.attention.encode(rec, shape, { qkv, kc: io.kc, vc: io.vc, slot: io.slot, pos: io.pos, out: att, lse });
  }
  encodeLinear(rec, k, att, w.o, x, T, lora, ll?.o, true, acts.u, { ...sk, sumSq });
  const guOut = swigluOut ? h : gu;
  if (fuseNormMlp || sums) {
    encodeLinear(rec, k, x, w.gateUp, guOut, T, lora, ll?.gateUp, false, acts.u, { norm: { w: w.postNorm, eps: c.rmsNormEps, tileSums: sumSq }, swigluOut });
  } else {
    const xn2 = recompute?.xnMlp ?? acts.xn;
    // decode from gemvX16Rows rows (shader-f16): the norm also stores xn in f16 and the gate|up GEMV reads that (half the x bytes, f16 products);
    // |xn| ≤ √C · |g| (a normed row), far inside f16's range
    const x16 = decode && acts.xn16 && k.matmul.x16Fusable(C) && T >= k.matmul.gemvX16Rows && acts.xn16.size >= T * C * 2 && !mma(w.gateUp) ? acts.xn16 : undefined;
    k.rmsnorm.encode(rec, x, w.postNorm, xn2, T, C, c.rmsNormEps, x16);
    encodeLinear(rec, k, xn2, w.gateUp, guOut, T, lora, ll?.gateUp, false, acts.u, { ...skGateUp, swigluOut, x16 });
  }
  if (recompute) {
    k.swiglu.encode(rec, gu, h, T, c.intermediateSize);
    return false;
  }
  if (fuseSwiglu) {
    encodeLinear(rec, k, gu, w.down, x, T, lora, ll?.down, true, acts.u, { swiglu: true, save: io.saveOut });
  } else {
    if (!swigluOut) k.swiglu.encode(rec, gu, h, T, c.intermediateSize);
    encodeLinear(rec, k, h, w.down, x, T, lora, ll?.down, true, acts.u, { ...sk, save: io.saveOut, sumSq });
  }
  return !!sums;
}

/**
 * y (+)= x·Wᵀ + bias + LoRA; the LoRA term only when this fused weight has a target. u receives x·Aᵀ.
 * xin (decode GEMVs only): x is a gate|up pair [T, 2K] read as silu(gate)·up (swiglu), or the raw
 * residual stream that the GEMVs RMSNorm themselves (norm).
 * Decode-sized T: u by the dense GEMV, then the GEMV adds scale·u·Bᵀ (its lanes sum it with x·Wᵀ:
 * MatmulKernel.loraFold; R MACs per output, nothing else to read).
 * Larger T: a rank-R update per slice, y[:, slice] += scale·u_s·B_sᵀ, by the f32 matmul — an
 * epilogue there would re-read u and B for every one of T·N outputs (measured 10× slower at T = 3072).
 */
export function encodeLinear(rec: Recorder, k: EngineKernels, x: GPUBuffer, w: Weight, y: GPUBuffer, T: number, lora: LoraAdapter | null, lin: LoraLinear | undefined, accumulate: boolean, u: GPUBuffer, xin: XInput = {}): void {
  const xo = { xSwiglu: xin.swiglu, xNorm: xin.norm };
  const ySwiglu = xin.swigluOut || undefined;
  // the weight's GEMV reads x16 where given (f16 x; the LoRA u below reads x)
  const xw = xin.x16 ?? x;
  const f16 = xin.x16 ? { gemvX16: true } : {};
  if (!lora || !lin || !isActive(lin)) {
    k.matmul.encode(rec, xw, w, y, T, { accumulate, ...xo, split: xin.split, save: xin.save, ySwiglu, ...f16, ySumSq: xin.sumSq });
    return;
  }
  const ldu = lin.starts.length * lora.r;
  if (k.matmul.variantFor(T) === 'gemv') {
    // with the norm fused, u leaves out its rsqrt where the GEMV sums the LoRA term in its lanes (they scale it with their sums)
    const uUnscaled = !!xo.xNorm && k.matmul.normLoraUnscaled;
    const un = uUnscaled && xo.xNorm ? { ...xo.xNorm, unscaled: true } : xo.xNorm;
    k.matmul.encodeDenseGemv(rec, x, lin.A, u, T, ldu, lin.K, { ...xo, xNorm: un }); // u[T, S·R] = x[T, K]·A[S·R, K]ᵀ
    k.matmul.encode(rec, xw, w, y, T, { accumulate, ...xo, lora: { ...epilogue(lora, lin, u, ldu), uUnscaled }, save: xin.save, ySwiglu, ...f16, ySumSq: xin.sumSq });
    return;
  }
  if (xin.swiglu || xin.norm || xin.save || xin.swigluOut || xin.x16 || xin.sumSq !== undefined) throw new Error('encodeLinear: SwiGLU or RMSNorm in the x reads, saving the stored rows, storing silu(gate)·up, reading an f16 x or storing tile sums of squares is for the decode GEMVs; hint: run the kernel first for more rows');
  k.gemm.encode(rec, x, lin.A, u, T, ldu, lin.K, { transB: true }); // u[T, S·R] = x[T, K]·A[S·R, K]ᵀ
  k.matmul.encode(rec, x, w, y, T, { accumulate, split: xin.split });
  const S = lin.starts.length;
  for (let s = 0; s < S; s++) {
    if (!lin.enabled[s]) continue;
    const r0 = lin.starts[s];
    const ns = (s + 1 < S ? lin.starts[s + 1] : lin.N) - r0;
    // y[:, r0:r0+ns] += scale · u[:, sR:(s+1)R] · B[r0:r0+ns, :]ᵀ
    k.gemm.encode(rec, u, lin.B, y, T, ns, lora.r, { transB: true, lda: ldu, offA: s * lora.r, ldb: lora.r, offB: r0 * lora.r, ldc: lin.N, offC: r0, alpha: lora.scale, beta: 1 });
  }
}
