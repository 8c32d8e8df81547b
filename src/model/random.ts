// A random-weight Qwen2 model of any config, made on the GPU (benchmarks, memory tests): the same
// buffers as a loaded model (allocModelWeights), filled by the random_fill kernel — q4 random codes
// with plausible f16 block scales, bf16 weights ≈ N(0, 0.02²), int8 embedding bytes with a per-row
// scale — so no large tensor ever exists on the host. Norms are 1, q/k/v biases small (host, tiny).
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import { Recorder } from '../gpu/encoder';
import type { Weight } from '../kernels/matmul';
import { RandomFillKernel, type RandomFill } from '../kernels/random_fill';
import { lowbias32 } from '../reference/random_fill';
import type { Qwen2Config } from './config';
import { allocModelWeights } from './loader';
import { destroyModel, type ModelWeights } from './weights';
import { randomFingerprint } from './fingerprint';

export interface RandomModelOptions {
  linearFormat: 'q4' | 'bf16';
  embedFormat: 'bf16' | 'i8';
  seed: number;
  /** largest binding a weight part may use (default: the device's) */
  maxBinding?: number;
}

/** std of the random weights (Qwen's initializer_range) */
export const RANDOM_STD = 0.02;
/** q4 block scales: absmax of 64 N(0, 0.02²) weights is ≈ 0.05 */
const SCALES: RandomFill = { kind: 'f16-range', lo: 0.03, hi: 0.08 };
/** uniform int8 has std ≈ 73.9; this row scale gives weights of std ≈ 0.02 */
const I8_ROW_SCALE = RANDOM_STD / 73.9;

/** Builds a random model; resolves once the GPU has written every weight. */
export async function buildRandomModel(ctx: GpuContext, config: Qwen2Config, opts: RandomModelOptions): Promise<ModelWeights> {
  const { weights } = allocModelWeights(ctx, config, opts);
  try {
    const fill = await RandomFillKernel.create(ctx);
    const rec = new Recorder(ctx, 'random-model');
    let stream = 0;
    const seed = () => lowbias32(opts.seed + 0x9e3779b9 * ++stream);
    const weight = (w: Weight) => fillWeight(ctx, rec, fill, w, seed);
    weight(weights.embed);
    if (weights.lmHead !== weights.embed) weight(weights.lmHead);
    const ones = new Float32Array(config.hiddenSize).fill(1);
    writeView(ctx.device, weights.finalNorm, 0, ones);
    for (const l of weights.layers) {
      writeView(ctx.device, l.inputNorm, 0, ones);
      writeView(ctx.device, l.postNorm, 0, ones);
      for (const w of [l.qkv, l.o, l.gateUp, l.down]) weight(w);
      if (l.qkv.bias) writeView(ctx.device, l.qkv.bias, 0, smallBias(l.qkv.N, seed()));
    }
    rec.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    weights.fingerprint = await randomFingerprint(config, opts.seed, `${opts.linearFormat}/${opts.embedFormat}`);
    return weights;
  } catch (e) {
    destroyModel(ctx, weights);
    throw e;
  }
}

function fillWeight(ctx: GpuContext, rec: Recorder, fill: RandomFillKernel, w: Weight, seed: () => number): void {
  for (const p of w.parts) {
    const data = p.data as GPUBuffer;
    if (w.format === 'q4') {
      fill.encode(rec, data, 0, data.size / 4, { kind: 'bits' }, seed());
      const s = p.scales as GPUBuffer;
      fill.encode(rec, s, 0, s.size / 4, SCALES, seed());
    } else if (w.format === 'bf16') {
      fill.encode(rec, data, 0, data.size / 4, { kind: 'bf16-normal', std: RANDOM_STD }, seed());
    } else {
      fill.encode(rec, data, 0, data.size / 4, { kind: 'bits' }, seed());
      writeView(ctx.device, p.scales as GPUBuffer, 0, new Float32Array(p.rows).fill(I8_ROW_SCALE));
    }
  }
}

/** f32[n] uniform in ±0.01 (q/k/v biases) from a seed */
function smallBias(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => ((lowbias32(seed + i) / 2 ** 32) * 2 - 1) * 0.01);
}
