// A Qwen2 model's weights on the GPU, as the forward and backward passes read them. Projections
// are fused where they share an input: q|k|v in one weight (rows q, then k, then v; biases
// concatenated) and gate|up in one (rows gate, then up), so each is one matmul.
import type { GpuContext } from '../gpu/device';
import { destroyWeight, type Weight } from '../kernels/matmul';
import type { Qwen2Config } from './config';

export interface LayerWeights {
  /** f32[C] */
  inputNorm: GPUBuffer;
  /** [C + 2·kvDim, C], bias f32[C + 2·kvDim] */
  qkv: Weight;
  /** [C, C] */
  o: Weight;
  /** f32[C] */
  postNorm: GPUBuffer;
  /** [2·I, C] */
  gateUp: Weight;
  /** [C, I] */
  down: Weight;
}

export interface ModelWeights {
  config: Qwen2Config;
  /** format of the seven projections: 'q4' (4-bit) or 'bf16' (unquantized, exact for bf16 checkpoints) */
  linearFormat: 'q4' | 'bf16';
  /** [V, C] in bf16 or i8; the embedding gather and (when tied) the LM head read it */
  embed: Weight;
  /** [V, C]; the same object as `embed` when embeddings are tied */
  lmHead: Weight;
  layers: LayerWeights[];
  /** f32[C] */
  finalNorm: GPUBuffer;
  /** GPU bytes of all of the above */
  bytes: number;
  /** which weights these are (fingerprint.ts): stored adapters record it; '' until a load has finished */
  fingerprint: string;
}

/** Row ranges of the fused q|k|v weight. */
export function qkvSlices(c: Qwen2Config): { q: number; k: number; v: number; total: number } {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  return { q, k: kv, v: kv, total: q + 2 * kv };
}

export function destroyModel(ctx: GpuContext, m: ModelWeights): void {
  destroyWeight(ctx, m.embed);
  if (m.lmHead !== m.embed) destroyWeight(ctx, m.lmHead);
  for (const l of m.layers) {
    ctx.memory.destroy(l.inputNorm);
    ctx.memory.destroy(l.postNorm);
    for (const w of [l.qkv, l.o, l.gateUp, l.down]) destroyWeight(ctx, w);
  }
  ctx.memory.destroy(m.finalNorm);
}
