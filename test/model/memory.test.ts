// Tests for src/model/memory.ts: the estimate for Qwen2.5-1.5B (printed, exact where the formula is
// exact, in sane ranges elsewhere), options (8-bit embedding, untied head, bnb skip modules), and
// fitsDevice's split-vs-problem judgement against WebGPU limits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseQwen2Config } from '../../src/model/config';
import { estimateMemory, fitsDevice, formatBytes, loraParamCount, type MemoryOptions } from '../../src/model/memory';

const QWEN15 = JSON.parse(readFileSync(new URL('../fixtures/qwen2.5-1.5b-instruct.config.json', import.meta.url), 'utf8'));
const config = parseQwen2Config(QWEN15);
const RUN: MemoryOptions = { numSequences: 8, seqLength: 384, loraRank: 16 };
const MiB = 2 ** 20;
const GB = 1e9;
const WEBGPU_DEFAULT = { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB };

describe('estimateMemory (Qwen2.5-1.5B, G=8, L=384, r=16)', () => {
  const est = estimateMemory(config, RUN);
  const b = est.breakdown;

  it('prints the breakdown', () => {
    const rows = Object.entries(b).map(([k, v]) => `${k.padEnd(15)} ${formatBytes(v).padStart(10)}`);
    console.log(`Qwen2.5-1.5B, G=8, L=384, LoRA r=16 on 7 projections\n${rows.join('\n')}\n${'total'.padEnd(15)} ${formatBytes(est.total).padStart(10)}`);
    expect(est.total).toBe(Object.values(b).reduce((a, x) => a + x, 0));
  });

  it('4-bit base weights: 0.5 B/weight + an f16 scale per 64', () => {
    const weightsPerLayer = 2 * 1536 * 1536 + 2 * 256 * 1536 + 3 * 1536 * 8960;
    expect(weightsPerLayer).toBe(46_792_704);
    const n = 28 * weightsPerLayer;
    expect(b.baseWeights).toBe(n / 2 + (n / 64) * 2 + 28 * 4 * 64); // a codebook per fused weight: q|k|v, o, gate|up, down
    expect(b.baseWeights).toBeGreaterThan(0.6 * GB);
    expect(b.baseWeights).toBeLessThan(0.9 * GB);
    expect(b.biasesAndNorms).toBe(28 * (1536 + 256 + 256) * 4 + 57 * 1536 * 4);
  });

  it('embedding 16-bit, head tied', () => {
    expect(b.embedding).toBe(151936 * 1536 * 2);
    expect(formatBytes(b.embedding)).toBe('445 MiB');
    expect(b.lmHead).toBe(0);
  });

  it('LoRA params, AdamW moments and grads', () => {
    const perLayer = 16 * ((1536 + 1536) * 2 + (1536 + 256) * 2 + (1536 + 8960) * 3);
    expect(loraParamCount(config, 16)).toBe(28 * perLayer);
    expect(b.loraParams).toBe(28 * perLayer * 4);
    expect(b.loraAdam).toBe(2 * b.loraParams);
    expect(b.loraGrads).toBe(b.loraParams);
    expect(b.loraParams).toBeGreaterThan(60 * MiB);
    expect(b.loraParams).toBeLessThan(80 * MiB);
  });

  it('KV cache, activations, logits chunk', () => {
    expect(b.kvCache).toBe(8 * 384 * 28 * 2 * 2 * 128 * 4);
    expect(b.logits).toBe(8 * 384 * 8192 * 4);
    expect(b.activations).toBeGreaterThan(29 * 8 * 384 * 1536 * 4); // at least the kept layer inputs
    expect(b.activations).toBeLessThan(2 * GB);
    expect(est.total).toBeGreaterThan(2 * GB);
    expect(est.total).toBeLessThan(5 * GB); // Unsloth reports 5–7 GB for GRPO on this model
  });

  it('fits WebGPU default limits by splitting the embedding into 4 parts', () => {
    const fit = fitsDevice(est, WEBGPU_DEFAULT, 8 * 2 ** 30);
    expect(fit.problems).toEqual([]);
    expect(fit.fits).toBe(true);
    expect(fit.info).toEqual(['the embedding (16bit) needs a 445 MiB binding, the device allows 128 MiB: it will be split into 4 parts']);
  });
});

describe('estimateMemory options', () => {
  it('8-bit embedding stores a byte per weight and an f32 scale per row', () => {
    expect(estimateMemory(config, { ...RUN, embedding: '8bit' }).breakdown.embedding).toBe(151936 * 1536 + 151936 * 4);
  });

  it('an untied LM head costs another matrix', () => {
    const untied = parseQwen2Config({ ...QWEN15, tie_word_embeddings: false });
    const b = estimateMemory(untied, RUN).breakdown;
    expect(b.lmHead).toBe(b.embedding);
  });

  it('bnb skip modules stay 16-bit', () => {
    const bnb = parseQwen2Config({
      ...QWEN15,
      quantization_config: { quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_type: 'nf4', llm_int8_skip_modules: ['model.layers.1.mlp'] },
    });
    const extra = estimateMemory(bnb, RUN).breakdown.baseWeights - estimateMemory(config, RUN).breakdown.baseWeights;
    const n = 3 * 1536 * 8960;
    expect(extra).toBe(n * 2 - (n / 2 + n / 32 + 2 * 64)); // gate|up and down: two codebooks fewer
  });

  it('fewer LoRA targets and smaller micro-batches shrink the estimate', () => {
    const attnOnly = estimateMemory(config, { ...RUN, loraTargets: ['q_proj', 'v_proj'] }).breakdown.loraParams;
    expect(attnOnly).toBe(28 * 16 * ((1536 + 1536) + (1536 + 256)) * 4);
    const micro = estimateMemory(config, { ...RUN, microBatch: 2 });
    expect(micro.breakdown.activations).toBeLessThan(estimateMemory(config, RUN).breakdown.activations / 3);
    expect(micro.breakdown.kvCache).toBe(estimateMemory(config, RUN).breakdown.kvCache); // rollout still holds G
  });

  it('rejects invalid options with the value', () => {
    expect(() => estimateMemory(config, { ...RUN, seqLength: 0 })).toThrow('memory estimate: seqLength must be a positive integer, got 0');
    expect(() => estimateMemory(config, { ...RUN, loraRank: 2.5 })).toThrow(/loraRank.*2\.5/);
  });
});

describe('fitsDevice', () => {
  it('names activations over the binding limit with a remedy', () => {
    const big = estimateMemory(config, { numSequences: 16, seqLength: 512, loraRank: 16 });
    const fit = fitsDevice(big, WEBGPU_DEFAULT);
    expect(fit.fits).toBe(false);
    expect(fit.problems).toContain(
      'the LM-head logits chunk needs a 256 MiB binding, the device allows 128 MiB; use a smaller logits chunk (now 8192) or a smaller training micro-batch');
    expect(fitsDevice(estimateMemory(config, { numSequences: 16, seqLength: 512, loraRank: 16, microBatch: 4, logitsChunk: 4096 }), WEBGPU_DEFAULT).fits).toBe(true);
  });

  it('a weight is impossible only when one row exceeds the binding', () => {
    const est = estimateMemory(config, { numSequences: 1, seqLength: 8, loraRank: 1, logitsChunk: 64 });
    const fit = fitsDevice(est, { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2048 });
    expect(fit.problems[0]).toBe('the embedding (16bit) needs a 445 MiB binding, the device allows 2 KiB, and one row alone is 3 KiB: it cannot be split to fit');
  });

  it('compares the total with the device memory hint', () => {
    const est = estimateMemory(config, RUN);
    const fit = fitsDevice(est, WEBGPU_DEFAULT, 2 * 2 ** 30);
    expect(fit.fits).toBe(false);
    expect(fit.problems.at(-1)).toMatch(/^the run needs about 2\.\d+ GiB of GPU memory, the device has about 2 GiB;/);
    expect(fitsDevice(est, WEBGPU_DEFAULT, est.total / 0.95).info.at(-1)).toMatch(/close to the limit/);
  });
});
