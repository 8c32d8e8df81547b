// Pure estimate of the GPU memory a GRPO run needs for a Qwen2 config (DESIGN.md section 4):
// 4-bit base weights, 16/8-bit embedding, LoRA + AdamW, KV cache, layer-by-layer recomputed
// activations, one LM-head logits chunk; and a check of that estimate against device limits.
// Sizes are in bytes; letters: G sequences, L tokens per sequence, T rows of a micro-batch (≤ micro-batch × L), C, I, H, K, D, V, R.

import { isSkippedModule, projectionShapes, PROJECTIONS, type Projection, type Qwen2Config } from './config';
import { ModelError } from './errors';
import { scaleStride } from '../formats/q4';

export interface MemoryOptions {
  /** G: sequences generated per step; the KV cache holds all of them */
  numSequences: number;
  /** L: prompt + completion tokens per sequence */
  seqLength: number;
  /** sequences per training micro-batch (default: all G) */
  microBatch?: number;
  /**
   * rows of one training micro-batch (default microBatch × L: a prompt copy per sequence; the trainer
   * shares a group's prompt, maxLayoutRows in src/model/train-layout.ts)
   */
  rows?: number;
  /** R, LoRA rank */
  loraRank: number;
  /** default: all 7 projections */
  loraTargets?: readonly Projection[];
  /** embedding (and untied LM head) storage: bf16 bit patterns, or int8 with one f32 scale per row */
  embedding?: '16bit' | '8bit';
  /** vocab columns of one LM-head chunk (logits are never materialised for all of V) */
  logitsChunk?: number;
}

export interface MemoryBreakdown {
  /** 7 projections × layers: packed 4-bit codes (0.5 B/weight) + one f16 scale per 64 weights + a 16-entry f32 codebook; 16-bit where a bnb checkpoint skips a module */
  baseWeights: number;
  /** q/k/v biases and RMSNorm weights, f32 */
  biasesAndNorms: number;
  embedding: number;
  /** 0 when tied to the embedding */
  lmHead: number;
  /** A [R, in] and B [out, R] per target per layer, f32 */
  loraParams: number;
  /** AdamW first and second moments: 2 × loraParams */
  loraAdam: number;
  loraGrads: number;
  /** G × L tokens × layers × (K and V) × K heads × D × f32 */
  kvCache: number;
  /** kept layer inputs + one layer's recompute/backward working set (see activationBytes) */
  activations: number;
  /** one [T, chunk] f32 logits chunk (its gradient overwrites it in place) */
  logits: number;
}

/** One kind of GPU buffer (`count` alike), with the size of one row: what a split must keep whole. */
export interface Allocation {
  what: string;
  bytes: number;
  rowBytes: number;
  count: number;
  /** weights can be split by rows across bindings; activations shrink only by the remedy */
  splittable: boolean;
  remedy: string;
}

export interface MemoryEstimate {
  breakdown: MemoryBreakdown;
  /** sum of the breakdown: rollout (KV cache) and training buffers are both counted as resident */
  total: number;
  allocations: Allocation[];
  options: Required<MemoryOptions>;
}

const F32 = 4;

function resolve(config: Qwen2Config, o: MemoryOptions): Required<MemoryOptions> {
  const r: Required<MemoryOptions> = {
    numSequences: o.numSequences,
    seqLength: o.seqLength,
    microBatch: o.microBatch ?? o.numSequences,
    rows: o.rows ?? (o.microBatch ?? o.numSequences) * o.seqLength,
    loraRank: o.loraRank,
    loraTargets: o.loraTargets ?? PROJECTIONS,
    embedding: o.embedding ?? '16bit',
    logitsChunk: Math.min(o.logitsChunk ?? 8192, config.vocabSize),
  };
  for (const k of ['numSequences', 'seqLength', 'microBatch', 'rows', 'loraRank', 'logitsChunk'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] <= 0) {
      throw new ModelError(`memory estimate: ${k} must be a positive integer, got ${r[k]}`, 'check the training settings');
    }
  }
  return r;
}

/** Bytes of one [out, in] projection in the on-GPU 4-bit format (f16 scales per 64-block of a row, rows padded to an even count). */
export function quantizedLinearBytes(out: number, inF: number): { codes: number; scales: number } {
  return { codes: out * Math.ceil(inF / 2), scales: out * scaleStride(inF) * 2 };
}

/** The fused weights the loader makes (q|k|v, o, gate|up, down); each q4 one has one 16-entry f32 codebook. */
const FUSED: Projection[][] = [['q_proj', 'k_proj', 'v_proj'], ['o_proj'], ['gate_proj', 'up_proj'], ['down_proj']];

/**
 * GPU bytes of the seven projections of every layer as the loader lays them out (fused weights, q4
 * or bf16 by `linearFormat`; bnb skip modules 16-bit) and of the q/k/v biases and the norms.
 */
export function projectionBytes(config: Qwen2Config, linearFormat: 'q4' | 'bf16' = 'q4'): { base: number; biasesAndNorms: number } {
  const skip = config.quantization?.skipModules ?? [];
  const shapes = new Map(projectionShapes(config).map((s) => [s.name, s]));
  let base = 0;
  let biases = 0;
  for (let l = 0; l < config.numLayers; l++) {
    for (const group of FUSED) {
      const members = group.map((n) => shapes.get(n)!);
      // a fused weight is 16-bit when a bnb checkpoint keeps any of its members 16-bit (loader.ts)
      const kept16 = linearFormat === 'bf16' || members.some((s) => isSkippedModule(`model.layers.${l}.${s.module}.${s.name}`, skip));
      for (const s of members) {
        const q = quantizedLinearBytes(s.out, s.in);
        base += kept16 ? s.out * s.in * 2 : q.codes + q.scales;
        if (s.bias) biases += s.out * F32;
      }
      if (!kept16) base += 16 * F32;
    }
  }
  const norms = (2 * config.numLayers + 1) * config.hiddenSize * F32;
  return { base, biasesAndNorms: biases + norms };
}

function embeddingBytes(config: Qwen2Config, kind: '16bit' | '8bit'): { total: number; rowBytes: number } {
  const { vocabSize: V, hiddenSize: C } = config;
  return kind === '16bit' ? { total: V * C * 2, rowBytes: C * 2 } : { total: V * C + V * F32, rowBytes: C };
}

/** LoRA parameter count: R × (in + out) per target per layer. */
export function loraParamCount(config: Qwen2Config, rank: number, targets: readonly Projection[] = PROJECTIONS): number {
  const perLayer = projectionShapes(config)
    .filter((s) => targets.includes(s.name))
    .reduce((a, s) => a + rank * (s.in + s.out), 0);
  return perLayer * config.numLayers;
}

/**
 * Training activations with layer-by-layer recompute (approximate, per token, f32):
 * - kept: the input of every layer and the final hidden state, (layers + 1) × C;
 * - one layer's working set while it is recomputed and back-propagated: the attention phase
 *   (normed x C, q/k/v (H+2K)·D, attention output H·D, one softmax row per query H·L, residual C),
 *   the MLP phase (normed C, gate/up/act 3·I), LoRA intermediates R per target, plus gradient
 *   buffers as large as the larger phase.
 */
export function activationBytes(config: Qwen2Config, o: Required<MemoryOptions>): { kept: number; working: number; perLayerInput: number } {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D } = config;
  const T = o.rows;
  const attn = C + (H + 2 * K) * D + H * D + H * o.seqLength + C;
  const mlp = C + 3 * I;
  const lora = o.loraRank * o.loraTargets.length;
  const perLayerInput = T * C * F32;
  return {
    kept: (config.numLayers + 1) * perLayerInput,
    working: T * F32 * (attn + mlp + lora + Math.max(attn, mlp)),
    perLayerInput,
  };
}

function allocations(config: Qwen2Config, o: Required<MemoryOptions>): Allocation[] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D, numLayers } = config;
  const T = o.rows;
  const emb = embeddingBytes(config, o.embedding);
  const split = 'split by rows across bindings';
  const out: Allocation[] = [{ what: `the embedding (${o.embedding})`, bytes: o.embedding === '16bit' ? emb.total : config.vocabSize * C, rowBytes: emb.rowBytes, count: 1, splittable: true, remedy: split }];
  if (!config.tieWordEmbeddings) out.push({ ...out[0], what: `the LM head (${o.embedding})` });
  for (const s of projectionShapes(config)) {
    const q = quantizedLinearBytes(s.out, s.in);
    out.push({ what: `${s.name} 4-bit codes [${s.out}, ${s.in}]`, bytes: q.codes, rowBytes: Math.ceil(s.in / 2), count: numLayers, splittable: true, remedy: split });
  }
  const fewer = 'fewer sequences per step or shorter completions';
  const smaller = 'a smaller training micro-batch';
  out.push(
    { what: 'one layer\'s K (or V) cache', bytes: o.numSequences * o.seqLength * K * D * F32, rowBytes: K * D * F32, count: 2 * numLayers, splittable: false, remedy: fewer },
    { what: 'one layer\'s input activations', bytes: T * C * F32, rowBytes: C * F32, count: numLayers + 1, splittable: false, remedy: smaller },
    { what: 'the MLP gate/up activations', bytes: T * I * F32, rowBytes: I * F32, count: 3, splittable: false, remedy: smaller },
    { what: 'the attention probabilities', bytes: T * H * o.seqLength * F32, rowBytes: H * o.seqLength * F32, count: 1, splittable: false, remedy: `${smaller} or shorter sequences` },
    { what: 'the LM-head logits chunk', bytes: T * o.logitsChunk * F32, rowBytes: o.logitsChunk * F32, count: 1, splittable: false, remedy: `a smaller logits chunk (now ${o.logitsChunk}) or ${smaller}` },
  );
  return out;
}

/** Estimates bytes per component for a run; pure, no GPU. */
export function estimateMemory(config: Qwen2Config, opts: MemoryOptions): MemoryEstimate {
  const o = resolve(config, opts);
  const w = projectionBytes(config);
  const emb = embeddingBytes(config, o.embedding).total;
  const lora = loraParamCount(config, o.loraRank, o.loraTargets) * F32;
  const act = activationBytes(config, o);
  const T = o.rows;
  const breakdown: MemoryBreakdown = {
    baseWeights: w.base,
    biasesAndNorms: w.biasesAndNorms,
    embedding: emb,
    lmHead: config.tieWordEmbeddings ? 0 : emb,
    loraParams: lora,
    loraAdam: 2 * lora,
    loraGrads: lora,
    kvCache: o.numSequences * o.seqLength * config.numLayers * 2 * config.numKvHeads * config.headDim * F32,
    activations: act.kept + act.working,
    logits: Math.max(T, o.numSequences) * o.logitsChunk * F32,
  };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { breakdown, total, allocations: allocations(config, o), options: o };
}

export interface DeviceLimitsLike {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface DeviceFit {
  fits: boolean;
  /** what makes the run impossible as configured, in words */
  problems: string[];
  /** what the engine handles (splits) or what is close to a limit */
  info: string[];
}

/** 466747392 → '445 MiB', 2048 → '2 KiB', 73830400 → '70.4 MiB'. */
export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${Number.isInteger(v) ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${u[i]}`;
}

/** Checks an estimate against the device: each buffer vs the binding/buffer limits, the total vs memory. */
export function fitsDevice(estimate: MemoryEstimate, limits: DeviceLimitsLike, deviceMemoryHint?: number): DeviceFit {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const problems: string[] = [];
  const info: string[] = [];
  for (const a of estimate.allocations) {
    if (a.bytes <= limit) continue;
    const need = `${a.what} needs a ${formatBytes(a.bytes)} binding, the device allows ${formatBytes(limit)}`;
    if (a.splittable && a.rowBytes <= limit) {
      const rowsPerPart = Math.floor(limit / a.rowBytes);
      const parts = Math.ceil(a.bytes / a.rowBytes / rowsPerPart);
      info.push(`${need}: it will be split into ${parts} parts`);
    } else if (a.splittable) {
      problems.push(`${need}, and one row alone is ${formatBytes(a.rowBytes)}: it cannot be split to fit`);
    } else {
      problems.push(`${need}; use ${a.remedy}`);
    }
  }
  if (deviceMemoryHint !== undefined) {
    const t = formatBytes(estimate.total);
    const d = formatBytes(deviceMemoryHint);
    if (estimate.total > deviceMemoryHint) {
      problems.push(`the run needs about ${t} of GPU memory, the device has about ${d}; use fewer sequences, shorter completions or a smaller micro-batch`);
    } else if (estimate.total > 0.9 * deviceMemoryHint) {
      info.push(`the run needs about ${t} of the device's ${d}: close to the limit`);
    }
  }
  return { fits: problems.length === 0, problems, info };
}
