// Tiny Qwen2 checkpoints made in tests (random weights; BF16, F16 or F32; optionally bitsandbytes NF4
// with or without double quantization, made by a small CPU port of bnb's quantize_4bit — backends/
// default/ops.py, functional.py quantize_4bit/quantize_blockwise/QuantState.as_dict — with bnb's byte
// layout), written with writeSafetensors in safetensors' order (dtype F32 → BF16 → U8, then name) and
// opened as a ShardedModel over memory (optionally as two shards with an index).
import { parseQwen2Config, expectedTensors, type Qwen2Config } from '../../src/model/config';
import { writeSafetensors, type Dtype, type TensorToWrite } from '../../src/formats/safetensors';
import { openShards, parseWeightIndex, type ShardedModel } from '../../src/formats/shards';
import { MemorySource } from '../../src/formats/sources';
import { NF4_CODEBOOK, f32ToF16Bits, f16BitsToF32 } from '../../src/formats/q4';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/formats/weights';
import { normal } from '../helpers/random';

export type FloatDtype = 'BF16' | 'F16' | 'F32';

export interface TinyOptions {
  dtype?: FloatDtype;
  hidden?: number;
  intermediate?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  vocab?: number;
  tie?: boolean;
  bnb?: { doubleQuant: boolean; skip?: string[] };
  /** leave this tensor out / give it this shape (error tests) */
  omit?: string;
  reshape?: { name: string; shape: number[] };
  /** write two shards and an index */
  sharded?: boolean;
  seed?: number;
  /** std of the embedding and of an untied lm_head (default 0.02, like the other weights) */
  embedStd?: number;
  lmHeadStd?: number;
}

/** A float tensor as stored: its values are exactly representable in its dtype. */
export interface StoredFloat { dtype: FloatDtype; shape: number[]; values: Float32Array }

/** What bnb's dequantize_4bit gives (f32, before its final cast), and the codes and absmax it used. */
export interface StoredBnb { N: number; K: number; dequant: Float32Array; packed: Uint8Array; absmax: Float32Array; quantMap: Float32Array }

export interface TinyCheckpoint {
  config: Qwen2Config;
  model: ShardedModel;
  floats: Map<string, StoredFloat>;
  bnb: Map<string, StoredBnb>;
  files: Map<string, Uint8Array>;
}

export function tinyConfigJson(o: TinyOptions = {}): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu',
    hidden_size: o.hidden ?? 64, intermediate_size: o.intermediate ?? 160, num_hidden_layers: o.layers ?? 2,
    num_attention_heads: o.heads ?? 4, num_key_value_heads: o.kvHeads ?? 2, vocab_size: o.vocab ?? 256,
    max_position_embeddings: 512, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: o.tie ?? true,
    torch_dtype: 'bfloat16', bos_token_id: 1, eos_token_id: 2, use_sliding_window: false,
  };
  if (o.bnb) {
    json.quantization_config = {
      quant_method: 'bitsandbytes', load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: o.bnb.doubleQuant,
      bnb_4bit_compute_dtype: 'bfloat16', bnb_4bit_quant_storage: 'uint8', llm_int8_skip_modules: o.bnb.skip ?? ['lm_head'],
    };
  }
  return json;
}

/** f32 values rounded to what dtype can hold, and the raw bytes */
export function storeAs(dtype: FloatDtype, w: Float32Array): { values: Float32Array; bytes: Uint8Array } {
  if (dtype === 'F32') return { values: w, bytes: new Uint8Array(w.buffer.slice(0)) };
  const bits = Uint16Array.from(w, (v) => (dtype === 'BF16' ? f32ToBf16Bits(v) : f32ToF16Bits(v)));
  return { values: Float32Array.from(bits, dtype === 'BF16' ? bf16BitsToF32 : f16BitsToF32), bytes: new Uint8Array(bits.buffer) };
}

const fr = Math.fround;

/** bnb's default signed dynamic 8-bit map (functional.py create_dynamic_map), f32[256], sorted */
export function dynamicMap(): Float32Array {
  const linspace = (a: number, b: number, steps: number) => {
    const step = fr((b - a) / (steps - 1));
    return Array.from({ length: steps }, (_, i) => (i < steps / 2 ? fr(fr(a) + fr(step * i)) : fr(fr(b) - fr(step * (steps - i - 1)))));
  };
  const data: number[] = [];
  for (let i = 0; i < 7; i++) {
    const b = linspace(0.1, 1, 2 ** i + 1);
    const means = b.slice(1).map((v, j) => fr(fr(b[j] + v) / 2));
    const scale = fr(10 ** (-6 + i));
    data.push(...means.map((m) => fr(scale * m)), ...means.map((m) => fr(-scale * m)));
  }
  data.push(0, 1);
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** argmin |x - code[i]| in f32, first index on ties (torch.argmin) */
function argmin(x: number, code: Float32Array): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < code.length; i++) {
    const d = fr(Math.abs(fr(x - code[i])));
    if (d < bestD) { bestD = d; best = i; }
  }
  return best;
}

/** bnb blockwise absmax quantization of a flat f32 tensor: codes and f32 absmax per block */
function quantizeBlocks(A: Float32Array, block: number, code: Float32Array): { q: Uint8Array; absmax: Float32Array } {
  const blocks = Math.ceil(A.length / block);
  const q = new Uint8Array(A.length);
  const absmax = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let m = 0;
    for (let i = b * block; i < Math.min(A.length, (b + 1) * block); i++) m = Math.max(m, Math.abs(A[i]));
    absmax[b] = m;
    const inv = fr(1 / m);
    for (let i = b * block; i < Math.min(A.length, (b + 1) * block); i++) q[i] = argmin(Math.min(1, Math.max(-1, fr(A[i] * inv))), code);
  }
  return { q, absmax };
}

/** bnb quantize_4bit(A [N, K], blocksize 64, nf4, compress_statistics) → the tensors transformers saves */
export function bnbQuantize(name: string, A: Float32Array, N: number, K: number, doubleQuant: boolean): { tensors: TensorToWrite[]; stored: StoredBnb } {
  const { q, absmax } = quantizeBlocks(A, 64, NF4_CODEBOOK);
  const packed = new Uint8Array(Math.ceil(A.length / 2));
  for (let i = 0; i < packed.length; i++) packed[i] = (q[2 * i] << 4) | (q[2 * i + 1] ?? 0);
  const state: Record<string, unknown> = { quant_type: 'nf4', blocksize: 64, dtype: 'bfloat16', shape: [N, K] };
  const tensors: TensorToWrite[] = [
    { name, dtype: 'U8', shape: [packed.length, 1], data: packed },
    { name: `${name}.quant_map`, dtype: 'F32', shape: [16], data: Float32Array.from(NF4_CODEBOOK) },
  ];
  let used = absmax;
  if (doubleQuant) {
    const offset = fr(absmax.reduce((a, b) => a + b, 0) / absmax.length);
    const code = dynamicMap();
    const nested = quantizeBlocks(absmax.map((v) => fr(v - offset)), 256, code);
    used = Float32Array.from(nested.q, (c, j) => fr(fr(code[c] * nested.absmax[Math.floor(j / 256)]) + offset));
    tensors.push(
      { name: `${name}.absmax`, dtype: 'U8', shape: [absmax.length], data: nested.q },
      { name: `${name}.nested_absmax`, dtype: 'F32', shape: [nested.absmax.length], data: nested.absmax },
      { name: `${name}.nested_quant_map`, dtype: 'F32', shape: [256], data: code },
    );
    Object.assign(state, { nested_blocksize: 256, nested_dtype: 'float32', nested_offset: offset });
  } else {
    tensors.push({ name: `${name}.absmax`, dtype: 'F32', shape: [absmax.length], data: absmax });
  }
  const json = new TextEncoder().encode(JSON.stringify(state));
  tensors.push({ name: `${name}.quant_state.bitsandbytes__nf4`, dtype: 'U8', shape: [json.length], data: json });
  const dequant = Float32Array.from(q, (c, i) => fr(NF4_CODEBOOK[c] * used[Math.floor(i / 64)]));
  return { tensors, stored: { N, K, dequant, packed, absmax: used, quantMap: NF4_CODEBOOK } };
}

const ORDER: Partial<Record<Dtype, number>> = { F32: 0, BF16: 1, F16: 1, U8: 2 };

export async function tinyCheckpoint(o: TinyOptions = {}): Promise<TinyCheckpoint> {
  const configJson = tinyConfigJson(o);
  const config = parseQwen2Config(configJson);
  const dtype = o.dtype ?? 'BF16';
  const floats = new Map<string, StoredFloat>();
  const bnb = new Map<string, StoredBnb>();
  const tensors: TensorToWrite[] = [];
  let seed = o.seed ?? 1;
  for (const e of expectedTensors(config)) {
    if (e.name === o.omit) continue;
    const n = e.shape.reduce((a, b) => a * b, 1);
    const std = e.role === 'norm' ? 0.1 : e.role === 'bias' ? 0.05 : e.name === 'model.embed_tokens.weight' ? (o.embedStd ?? 0.02) : e.name === 'lm_head.weight' ? (o.lmHeadStd ?? 0.02) : 0.02;
    const raw = normal(seed++, n, std);
    if (e.role === 'norm') raw.forEach((v, i) => { raw[i] = 1 + v; });
    if (e.quantized) {
      const { values } = storeAs('BF16', raw); // bnb quantizes the bf16 model
      const q = bnbQuantize(e.name, values, e.shape[0], e.shape[1], o.bnb?.doubleQuant ?? false);
      tensors.push(...q.tensors);
      bnb.set(e.name, q.stored);
      continue;
    }
    const shape = o.reshape?.name === e.name ? o.reshape.shape : e.shape;
    const s = storeAs(dtype, raw);
    floats.set(e.name, { dtype, shape, values: s.values });
    tensors.push({ name: e.name, dtype, shape, data: s.bytes });
  }
  tensors.sort((a, b) => (ORDER[a.dtype] ?? 3) - (ORDER[b.dtype] ?? 3) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files = new Map<string, Uint8Array>();
  let model: ShardedModel;
  if (o.sharded) {
    const half = Math.ceil(tensors.length / 2);
    const parts = [tensors.slice(0, half), tensors.slice(half)];
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weightMap: Record<string, string> = {};
    parts.forEach((p, i) => { files.set(names[i], writeSafetensors(p)); p.forEach((t) => { weightMap[t.name] = names[i]; }); });
    const index = parseWeightIndex(JSON.stringify({ metadata: {}, weight_map: weightMap }));
    model = await openShards(names.map((file) => ({ file, source: new MemorySource(files.get(file)!, file) })), index);
  } else {
    files.set('model.safetensors', writeSafetensors(tensors));
    model = await openShards([{ file: 'model.safetensors', source: new MemorySource(files.get('model.safetensors')!, 'model.safetensors') }], null);
  }
  return { config, model, floats, bnb, files };
}
