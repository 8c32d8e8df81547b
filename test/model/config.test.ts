// Tests for src/model/config.ts: parsing the real Qwen2.5-1.5B and tiny reference configs, every
// rejection rule (with its message naming field and value), bnb-NF4 quantization configs, and the
// checkpoint completeness check against the tiny reference safetensors file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assertCheckpointComplete, checkCheckpointTensors, expectedTensors, isSkippedModule, parseQwen2Config,
  validateForEngine, type TensorMeta,
} from '../../src/model/config';
import { CheckpointError, ConfigError } from '../../src/model/errors';
import { parseHeader } from '../../src/formats/safetensors';

const readJson = (rel: string): Record<string, unknown> => JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
const QWEN15 = readJson('../fixtures/qwen2.5-1.5b-instruct.config.json');
const TINY = readJson('../fixtures/reference-tiny/model/config.json');

const BNB = {
  _load_in_4bit: true, _load_in_8bit: false, bnb_4bit_compute_dtype: 'bfloat16', bnb_4bit_quant_storage: 'uint8',
  bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true, llm_int8_enable_fp32_cpu_offload: false,
  llm_int8_has_fp16_weight: false, llm_int8_skip_modules: ['lm_head', 'model.layers.1.mlp'], llm_int8_threshold: 6.0,
  load_in_4bit: true, load_in_8bit: false, quant_method: 'bitsandbytes',
};

/** Parses `json` expecting a ConfigError; returns it for message/hint checks. */
function reject(json: unknown, limits?: { maxSequenceLength?: number }): ConfigError {
  try {
    parseQwen2Config(json, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).hint.length).toBeGreaterThan(10);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, parse succeeded');
}

describe('parseQwen2Config', () => {
  it('parses Qwen2.5-1.5B-Instruct', () => {
    const c = parseQwen2Config(QWEN15);
    expect(c).toMatchObject({
      hiddenSize: 1536, intermediateSize: 8960, numLayers: 28, numHeads: 12, numKvHeads: 2, headDim: 128,
      vocabSize: 151936, ropeTheta: 1e6, rmsNormEps: 1e-6, tieWordEmbeddings: true, maxPositionEmbeddings: 32768,
      bosTokenId: 151643, eosTokenIds: [151645], torchDtype: 'bfloat16',
      attentionBias: { q: true, k: true, v: true, o: false }, slidingWindow: null, quantization: null,
    });
    expect(c.raw).toBe(QWEN15);
  });

  it('parses the tiny reference config', () => {
    const c = parseQwen2Config(TINY);
    expect(c).toMatchObject({ hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 1024 });
  });

  it('rejects non-objects', () => {
    expect(reject(null).message).toMatch(/JSON object, got null/);
    expect(reject([1]).message).toMatch(/an array/);
    expect(reject('{}').message).toMatch(/JSON object/);
  });

  it('rejects other architectures, naming what it found', () => {
    const e = reject({ ...QWEN15, model_type: 'llama', architectures: ['LlamaForCausalLM'] });
    expect(e.message).toContain('"llama"');
    expect(e.message).toContain('LlamaForCausalLM');
    expect(e.hint).toMatch(/Qwen2\.5 0\.5B–7B/);
    expect(reject({ ...QWEN15, model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'] }).message).toMatch(/Qwen3/);
    expect(reject({ ...QWEN15, architectures: ['Qwen2ForSequenceClassification'] }).message).toMatch(/Qwen2ForSequenceClassification/);
    const { model_type: _m, architectures: _a, ...neither } = QWEN15;
    expect(reject(neither).message).toMatch(/neither "model_type" nor "architectures"/);
  });

  it('names missing and invalid numeric fields', () => {
    const { hidden_size: _h, ...noHidden } = QWEN15;
    expect(reject(noHidden).message).toBe('config.json field "hidden_size" must be a positive integer, got nothing (field missing)');
    expect(reject({ ...QWEN15, num_hidden_layers: -3 }).message).toMatch(/"num_hidden_layers".*got -3/);
    expect(reject({ ...QWEN15, intermediate_size: '8960' }).message).toMatch(/"intermediate_size".*got "8960"/);
    expect(reject({ ...QWEN15, rope_theta: 0 }).message).toMatch(/"rope_theta" must be a positive number, got 0/);
    expect(reject({ ...QWEN15, eos_token_id: [151645, 'x'] }).message).toMatch(/eos_token_id\[1\]/);
    expect(reject({ ...QWEN15, tie_word_embeddings: 'yes' }).message).toMatch(/tie_word_embeddings/);
  });

  it('checks head arithmetic', () => {
    expect(reject({ ...QWEN15, num_attention_heads: 10 }).message).toBe(
      'hidden_size 1536 is not divisible by num_attention_heads 10 (and no head_dim is given)');
    expect(reject({ ...QWEN15, num_key_value_heads: 5 }).message).toBe(
      'num_attention_heads 12 is not a multiple of num_key_value_heads 5');
    expect(parseQwen2Config({ ...QWEN15, num_attention_heads: 10, num_key_value_heads: 2, head_dim: 128 }).headDim).toBe(128);
  });

  it('reads eos as number or list, rope theta from rope_parameters', () => {
    expect(parseQwen2Config({ ...QWEN15, eos_token_id: [151645, 151643] }).eosTokenIds).toEqual([151645, 151643]);
    const { rope_theta: _r, ...noTheta } = QWEN15;
    expect(parseQwen2Config({ ...noTheta, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }).ropeTheta).toBe(500000);
    expect(parseQwen2Config({ ...QWEN15, rope_scaling: null }).ropeTheta).toBe(1e6);
    expect(parseQwen2Config({ ...QWEN15, rope_scaling: { type: 'default' } }).ropeTheta).toBe(1e6);
  });

  it('rejects rope scaling', () => {
    const yarn = reject({ ...QWEN15, rope_scaling: { type: 'yarn', factor: 4.0, original_max_position_embeddings: 32768 } });
    expect(yarn.message).toBe('config.json sets rope_scaling "yarn" (factor 4); rope scaling is not supported');
    expect(reject({ ...QWEN15, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 1e6 } }).message).toMatch(/"linear"/);
  });

  it('rejects sliding window only when it is on and shorter than the sequences', () => {
    // Qwen2 configs carry sliding_window / max_window_layers even when unused
    expect(parseQwen2Config({ ...QWEN15, sliding_window: 4096 }).slidingWindow).toBeNull();
    const on = { ...QWEN15, use_sliding_window: true, sliding_window: 4096, max_window_layers: 21 };
    expect(reject(on).message).toMatch(/sliding_window 4096.*32768 tokens/);
    expect(parseQwen2Config(on, { maxSequenceLength: 1024 }).slidingWindow).toBe(4096);
    expect(parseQwen2Config({ ...on, max_window_layers: 28 }).slidingWindow).toBeNull(); // no layer slides
    expect(parseQwen2Config({ ...on, layer_types: Array(28).fill('full_attention') }).slidingWindow).toBeNull();
  });

  it('rejects other activations', () => {
    expect(reject({ ...QWEN15, hidden_act: 'gelu' }).message).toBe('hidden_act "gelu" is not supported; Qwen2 uses "silu"');
  });

  it('accepts unsloth bnb-4bit NF4 configs', () => {
    const c = parseQwen2Config({ ...QWEN15, quantization_config: BNB });
    expect(c.quantization).toEqual({
      kind: 'bnb-nf4', doubleQuant: true, skipModules: ['lm_head', 'model.layers.1.mlp'], blockSize: 64, computeDtype: 'bfloat16',
    });
  });

  it('rejects other quantizations with a hint', () => {
    expect(reject({ ...QWEN15, quantization_config: { quant_method: 'gptq', bits: 4 } }).message).toMatch(/"gptq" is not supported/);
    expect(reject({ ...QWEN15, quantization_config: { quant_method: 'awq', bits: 4 } }).hint).toMatch(/bnb-4bit/);
    expect(reject({ ...QWEN15, quantization_config: { ...BNB, bnb_4bit_quant_type: 'fp4' } }).message).toMatch(/"fp4"/);
    const int8 = { ...BNB, load_in_4bit: false, _load_in_4bit: false, load_in_8bit: true };
    expect(reject({ ...QWEN15, quantization_config: int8 }).message).toMatch(/8-bit/);
    expect(reject({ ...QWEN15, quantization_config: { ...BNB, bnb_4bit_quant_storage: 'bfloat16' } }).message).toMatch(/quant_storage/);
  });
});

describe('validateForEngine', () => {
  it('rejects sequences longer than the model positions', () => {
    const c = parseQwen2Config(TINY);
    expect(() => validateForEngine(c, { maxSequenceLength: 512 })).not.toThrow();
    expect(() => validateForEngine(c, { maxSequenceLength: 600 })).toThrow(/600 tokens exceed the model's max_position_embeddings 512/);
  });
});

describe('isSkippedModule', () => {
  it('follows the transformers rule', () => {
    const skip = ['lm_head', 'model.layers.1.mlp'];
    expect(isSkippedModule('lm_head', skip)).toBe(true);
    expect(isSkippedModule('model.layers.1.mlp.gate_proj', skip)).toBe(true);
    expect(isSkippedModule('model.layers.11.mlp.gate_proj', skip)).toBe(false);
    expect(isSkippedModule('model.layers.1.self_attn.q_proj', skip)).toBe(false);
  });
});

describe('expectedTensors / checkpoint check', () => {
  it('lists Qwen2.5-1.5B tensors (tied: no lm_head)', () => {
    const t = expectedTensors(parseQwen2Config(QWEN15));
    expect(t.length).toBe(1 + 28 * 12 + 1);
    const by = new Map(t.map((x) => [x.name, x.shape]));
    expect(by.get('model.embed_tokens.weight')).toEqual([151936, 1536]);
    expect(by.get('model.layers.0.self_attn.q_proj.weight')).toEqual([1536, 1536]);
    expect(by.get('model.layers.0.self_attn.k_proj.bias')).toEqual([256]);
    expect(by.get('model.layers.27.mlp.down_proj.weight')).toEqual([1536, 8960]);
    expect(by.has('model.layers.0.self_attn.o_proj.bias')).toBe(false);
    expect(by.has('lm_head.weight')).toBe(false);
    expect(expectedTensors(parseQwen2Config({ ...QWEN15, tie_word_embeddings: false })).at(-1)?.name).toBe('lm_head.weight');
  });

  it('accepts the tiny reference checkpoint and names the first missing or mismatched tensor', () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/reference-tiny/model/model.safetensors', import.meta.url)));
    const tensors: TensorMeta[] = parseHeader(bytes, bytes.byteLength).tensors;
    const c = parseQwen2Config(TINY);
    expect(checkCheckpointTensors(c, tensors)).toEqual([]);
    expect(() => assertCheckpointComplete(c, tensors)).not.toThrow();

    const missing = tensors.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight');
    expect(() => assertCheckpointComplete(c, missing)).toThrow(
      'checkpoint lacks tensor "model.layers.1.mlp.up_proj.weight" (expected shape [160, 64])');
    const wrong = tensors.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [64, 64] } : t));
    expect(() => assertCheckpointComplete(c, wrong)).toThrow(/k_proj.weight" has shape \[64, 64\]; config.json implies \[32, 64\]/);
    const both = wrong.filter((t) => t.name !== 'model.norm.weight');
    expect(() => assertCheckpointComplete(c, both)).toThrow(/\(and 1 more problem\)$/);
    try { assertCheckpointComplete(c, missing); } catch (e) { expect(e).toBeInstanceOf(CheckpointError); }
  });

  it('checks bnb-4bit packed tensors and their companions', () => {
    const c = parseQwen2Config({ ...TINY, quantization_config: BNB });
    const exp = expectedTensors(c);
    expect(exp.find((t) => t.name === 'model.layers.1.mlp.up_proj.weight')?.quantized).toBe(false); // skipped module
    expect(exp.find((t) => t.name === 'model.layers.0.mlp.up_proj.weight')?.quantized).toBe(true);
    const files: TensorMeta[] = exp.flatMap((t) => {
      if (!t.quantized) return [{ name: t.name, shape: t.shape, dtype: 'BF16' }];
      const n = t.shape[0] * t.shape[1];
      return [
        { name: t.name, shape: [n / 2, 1], dtype: 'U8' },
        { name: `${t.name}.absmax`, shape: [Math.ceil(n / 64)], dtype: 'U8' },
        { name: `${t.name}.quant_map`, shape: [16], dtype: 'F32' },
        { name: `${t.name}.nested_absmax`, shape: [1], dtype: 'F32' },
        { name: `${t.name}.nested_quant_map`, shape: [256], dtype: 'F32' },
        { name: `${t.name}.quant_state.bitsandbytes__nf4`, shape: [120], dtype: 'U8' },
      ];
    });
    expect(checkCheckpointTensors(c, files)).toEqual([]);
    const noNested = files.filter((t) => t.name !== 'model.layers.0.self_attn.v_proj.weight.nested_absmax');
    expect(() => assertCheckpointComplete(c, noNested)).toThrow('bnb-4bit checkpoint lacks "model.layers.0.self_attn.v_proj.weight.nested_absmax"');
    const unpacked = files.map((t) => (t.name === 'model.layers.0.mlp.gate_proj.weight' ? { ...t, shape: [160, 64], dtype: 'BF16' } : t));
    expect(() => assertCheckpointComplete(c, unpacked)).toThrow(/expected 5120 packed U8 bytes for logical shape \[160, 64\]/);
  });
});
