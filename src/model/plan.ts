// What a model needs on the GPU before it is loaded: weights in the chosen formats (4-bit or bf16
// projections, bf16 or int8 embedding), the chat engine's activations and KV cache, and a training
// estimate (estimateMemory with the run's settings); checked against the device's buffer limits.
// Pure: the UI shows it before downloading, the worker refuses a load that cannot fit.
import { projectionShapes, type Qwen2Config } from './config';
import { estimateMemory, fitsDevice, projectionBytes, type Allocation, type DeviceFit, type DeviceLimitsLike, type MemoryEstimate, type MemoryOptions } from './memory';

export interface Formats {
  linearFormat: 'q4' | 'bf16';
  embedFormat: 'bf16' | 'i8';
}

/** The chat engine's sizes: tokens per forward call (longest prompt) and positions (prompt + reply). */
export interface EngineSizes {
  maxTokens: number;
  maxPositions: number;
}

/** 1024-token prompts and 4096-token conversations: room for a chat, ~10% of 1.5B's weights in activations. */
export const DEFAULT_ENGINE: EngineSizes = { maxTokens: 1024, maxPositions: 4096 };

/** The defaults clamped to the model's max_position_embeddings. */
export function engineSizes(config: Qwen2Config, want: EngineSizes = DEFAULT_ENGINE): EngineSizes {
  const maxPositions = Math.min(want.maxPositions, config.maxPositionEmbeddings);
  return { maxPositions, maxTokens: Math.min(want.maxTokens, maxPositions) };
}

/** Parameters of the checkpoint (embedding, untied LM head, projections with biases, norms). */
export function parameterCount(c: Qwen2Config): number {
  const emb = c.vocabSize * c.hiddenSize;
  const perLayer = projectionShapes(c).reduce((n, s) => n + s.out * s.in + (s.bias ? s.out : 0), 0) + 2 * c.hiddenSize;
  return emb * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * perLayer + c.hiddenSize;
}

export interface WeightBytes {
  /** the seven projections of every layer in the chosen format (bnb skip modules stay 16-bit) */
  projections: number;
  biasesAndNorms: number;
  /** embedding plus an untied LM head */
  embedding: number;
  total: number;
}

export function weightBytes(c: Qwen2Config, f: Formats): WeightBytes {
  const { base: projections, biasesAndNorms } = projectionBytes(c, f.linearFormat);
  const V = c.vocabSize;
  const C = c.hiddenSize;
  const table = f.embedFormat === 'bf16' ? V * C * 2 : V * C + V * 4;
  const embedding = table * (c.tieWordEmbeddings ? 1 : 2);
  return { projections, biasesAndNorms, embedding, total: projections + biasesAndNorms + embedding };
}

export interface ChatPlan {
  weights: WeightBytes;
  /** the engine's activation buffers for maxTokens tokens, and the RoPE table */
  activations: number;
  /** one conversation of maxPositions tokens */
  kvCache: number;
  total: number;
  sizes: EngineSizes;
  /** in estimateMemory's shape, for fitsDevice */
  estimate: MemoryEstimate;
}

const MAX_RANK = 64;

/** GPU bytes to chat with the model: weights, the engine (maxTokens), a KV cache of maxPositions. */
export function chatPlan(c: Qwen2Config, f: Formats, sizes: EngineSizes = engineSizes(c)): ChatPlan {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D, numLayers } = c;
  const T = sizes.maxTokens;
  const w = weightBytes(c, f);
  const activations = 4 * T * (2 * C + (H + 2 * K) * D + H * D + H + 3 * I + 3 * MAX_RANK) + sizes.maxPositions * D * 4;
  const kvCache = 2 * numLayers * sizes.maxPositions * K * D * 4;
  const base = estimateMemory(c, { numSequences: 1, seqLength: sizes.maxPositions, microBatch: 1, loraRank: 1, embedding: f.embedFormat === 'bf16' ? '16bit' : '8bit' });
  const breakdown = {
    ...base.breakdown, baseWeights: w.projections, biasesAndNorms: w.biasesAndNorms, embedding: w.embedding, lmHead: 0,
    loraParams: 0, loraAdam: 0, loraGrads: 0, kvCache, activations, logits: c.vocabSize * 4,
  };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { weights: w, activations, kvCache, total, sizes, estimate: { ...base, breakdown, total, allocations: chatAllocations(c, f, sizes) } };
}

/** The buffers a loaded model holds, with the row size that a split must keep whole. */
function chatAllocations(c: Qwen2Config, f: Formats, sizes: EngineSizes): Allocation[] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D, numLayers, vocabSize: V } = c;
  const split = 'split by rows across bindings';
  const row = (inF: number) => (f.linearFormat === 'q4' ? Math.ceil(inF / 2) : inF * 2);
  const embRow = f.embedFormat === 'bf16' ? C * 2 : C;
  const out: Allocation[] = [{ what: `the embedding (${f.embedFormat})`, bytes: V * embRow, rowBytes: embRow, count: c.tieWordEmbeddings ? 1 : 2, splittable: true, remedy: split }];
  const fused: [string, number, number][] = [['q|k|v', (H + 2 * K) * D, C], ['o', C, H * D], ['gate|up', 2 * I, C], ['down', C, I]];
  for (const [name, N, inF] of fused) {
    out.push({ what: `the ${name} weight [${N}, ${inF}] (${f.linearFormat})`, bytes: N * row(inF), rowBytes: row(inF), count: numLayers, splittable: true, remedy: split });
  }
  out.push(
    { what: `one layer's K (or V) cache for ${sizes.maxPositions} positions`, bytes: sizes.maxPositions * K * D * 4, rowBytes: K * D * 4, count: 2 * numLayers, splittable: false, remedy: 'shorter conversations' },
    { what: `the MLP activations for ${sizes.maxTokens} tokens`, bytes: sizes.maxTokens * 2 * I * 4, rowBytes: 2 * I * 4, count: 1, splittable: false, remedy: 'shorter prompts' },
  );
  return out;
}

/** fitsDevice for chat: problems (the load is refused) and notes (splits). */
export function checkChatFits(plan: ChatPlan, limits: DeviceLimitsLike): DeviceFit {
  return fitsDevice(plan.estimate, limits);
}

/** estimateMemory for a training run, with bf16 projections counted as such. */
export function trainingPlan(c: Qwen2Config, f: Formats, o: MemoryOptions): MemoryEstimate {
  const e = estimateMemory(c, { ...o, embedding: f.embedFormat === 'bf16' ? '16bit' : '8bit' });
  if (f.linearFormat === 'q4') return e;
  const breakdown = { ...e.breakdown, baseWeights: weightBytes(c, f).projections };
  return { ...e, breakdown, total: Object.values(breakdown).reduce((a, b) => a + b, 0) };
}
