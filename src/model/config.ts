// Hugging Face Qwen2 config.json → typed Qwen2Config. Parses and checks everything the engine
// relies on (architecture, sizes, plain RoPE, full attention, SiLU, bitsandbytes NF4 or no
// quantization) and rejects the rest with a ConfigError that names the field and the value.
// Also lists the tensors (names, shapes) a checkpoint must hold, for the loader's completeness check.

import { CheckpointError, ConfigError } from './errors';

/** bitsandbytes 4-bit NF4 as saved by transformers/unsloth (`*-bnb-4bit` checkpoints). */
export interface BnbNf4Quantization {
  kind: 'bnb-nf4';
  /** absmax of each 64-block itself quantized to 8 bits (blocks of 256), expanded at load */
  doubleQuant: boolean;
  /** llm_int8_skip_modules: modules kept in 16-bit (see isSkippedModule for the matching rule) */
  skipModules: string[];
  blockSize: 64;
  /** bnb_4bit_compute_dtype, e.g. 'bfloat16' (bitsandbytes' default is float32) */
  computeDtype: string;
}

export interface Qwen2Config {
  hiddenSize: number; // C
  intermediateSize: number; // I, the MLP width
  numLayers: number;
  numHeads: number; // H, query heads
  numKvHeads: number; // K (GQA: numHeads % numKvHeads === 0)
  headDim: number; // D: head_dim, else hiddenSize / numHeads
  vocabSize: number; // V, embedding rows (often padded above the tokenizer's size)
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** torch_dtype (or `dtype` in transformers v5), e.g. 'bfloat16'; null when absent */
  torchDtype: string | null;
  /** Qwen2: q/k/v projections have a bias, o does not (nor does the MLP) */
  attentionBias: { q: true; k: true; v: true; o: false };
  /** sliding window in use on some layers (only accepted when ≥ the lengths used); else null */
  slidingWindow: number | null;
  quantization: BnbNf4Quantization | null;
  /** the parsed config.json as given */
  raw: Readonly<Record<string, unknown>>;
}

export interface EngineLimits {
  /** longest prompt + completion the engine will attend over; default maxPositionEmbeddings */
  maxSequenceLength?: number;
}

const HINT_DAMAGED = 'config.json looks damaged or is not a transformers config; download it again';
const HINT_FAMILY =
  'TabZero supports the Qwen2 family (model_type "qwen2", Qwen2ForCausalLM): Qwen2 and Qwen2.5 ' +
  '0.5B–7B, e.g. Qwen/Qwen2.5-1.5B-Instruct or unsloth/Qwen2.5-1.5B-Instruct-bnb-4bit';

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing (field missing)' : JSON.stringify(v);
}

function posInt(json: Record<string, unknown>, key: string): number {
  const v = json[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new ConfigError(`config.json field "${key}" must be a positive integer, got ${show(v)}`, HINT_DAMAGED);
  }
  return v;
}

function posNumber(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ConfigError(`config.json field "${key}" must be a positive number, got ${show(v)}`, HINT_DAMAGED);
  }
  return v;
}

function tokenId(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ConfigError(`config.json field "${key}" must be a token id (integer ≥ 0), got ${show(v)}`, HINT_DAMAGED);
  }
  return v;
}

function checkArchitecture(json: Record<string, unknown>): void {
  const modelType = json.model_type;
  const archs = json.architectures;
  const archList = Array.isArray(archs) ? archs.map(String) : archs === undefined || archs === null ? [] : [String(archs)];
  if (modelType === undefined && archList.length === 0) {
    throw new ConfigError('config.json has neither "model_type" nor "architectures"; cannot tell which model it is', HINT_FAMILY);
  }
  const typeOk = modelType === undefined || modelType === 'qwen2';
  const archOk = archList.every((a) => a === 'Qwen2ForCausalLM');
  if (typeOk && archOk) return;
  const found = `model_type ${show(modelType)}, architectures [${archList.join(', ')}]`;
  const extra = modelType === 'qwen3' || archList.some((a) => a.startsWith('Qwen3'))
    ? ' (Qwen3 adds q/k norms and is not implemented yet)' : '';
  throw new ConfigError(`config.json describes ${found}; TabZero runs only qwen2 / Qwen2ForCausalLM${extra}`, HINT_FAMILY);
}

/** rope_theta from `rope_theta` or `rope_parameters.rope_theta`; any rope scaling is rejected. */
function parseRope(json: Record<string, unknown>): number {
  const hint = 'TabZero implements plain RoPE (rotate_half, inv_freq = theta^(-2i/D)); use a config without ' +
    'rope scaling (the published Qwen2.5 configs have none; YaRN is only needed beyond 32k tokens)';
  const params = json.rope_parameters;
  let fromParams: unknown;
  if (params !== undefined && params !== null) {
    if (!isRecord(params)) throw new ConfigError(`config.json field "rope_parameters" must be an object, got ${show(params)}`, HINT_DAMAGED);
    const type = params.rope_type ?? params.type ?? 'default';
    if (type !== 'default') {
      throw new ConfigError(`rope_parameters.rope_type ${show(type)} (factor ${show(params.factor)}) is not supported`, hint);
    }
    fromParams = params.rope_theta;
  }
  const scaling = json.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    const type = isRecord(scaling) ? scaling.rope_type ?? scaling.type : undefined;
    if (type !== 'default') {
      const factor = isRecord(scaling) ? scaling.factor : undefined;
      throw new ConfigError(`config.json sets rope_scaling ${show(type)} (factor ${show(factor)}); rope scaling is not supported`, hint);
    }
  }
  const theta = json.rope_theta ?? fromParams;
  return posNumber(theta, json.rope_theta !== undefined ? 'rope_theta' : 'rope_parameters.rope_theta');
}

/** The window size if use_sliding_window is on for at least one layer; null for full attention. */
function parseSlidingWindow(json: Record<string, unknown>, numLayers: number): number | null {
  if (json.use_sliding_window !== true) return null; // sliding_window/max_window_layers alone are inert
  if (json.sliding_window === null || json.sliding_window === undefined) return null;
  const window = posInt(json, 'sliding_window');
  const types = json.layer_types;
  let sliding: number;
  if (Array.isArray(types)) sliding = types.filter((t) => t === 'sliding_attention').length;
  else {
    // transformers: layers i >= max_window_layers slide; an absent max_window_layers is read as 0 (all)
    const mwl = json.max_window_layers;
    const first = typeof mwl === 'number' && Number.isSafeInteger(mwl) && mwl >= 0 ? mwl : 0;
    sliding = Math.max(0, numLayers - first);
  }
  return sliding > 0 ? window : null;
}

/** quantization_config → BnbNf4Quantization, null when absent; anything else is rejected. */
export function parseQuantization(q: unknown): BnbNf4Quantization | null {
  if (q === undefined || q === null) return null;
  const hint = 'TabZero loads bitsandbytes 4-bit NF4 checkpoints (unsloth/*-bnb-4bit) and unquantized ' +
    'BF16/F16/F32 checkpoints (quantized to 4-bit at load); use one of those instead of a GPTQ/AWQ/FP8/8-bit repo';
  if (!isRecord(q)) throw new ConfigError(`config.json field "quantization_config" must be an object, got ${show(q)}`, HINT_DAMAGED);
  const method = q.quant_method;
  if (method !== 'bitsandbytes') {
    throw new ConfigError(`quantization_config.quant_method ${show(method)} is not supported`, hint);
  }
  const in4 = q.load_in_4bit === true || q._load_in_4bit === true;
  const in8 = q.load_in_8bit === true || q._load_in_8bit === true;
  if (in8 || !in4) {
    throw new ConfigError(`bitsandbytes checkpoint is ${in8 ? '8-bit (LLM.int8)' : 'not 4-bit (load_in_4bit is not true)'}; only 4-bit NF4 is supported`, hint);
  }
  const type = q.bnb_4bit_quant_type ?? 'fp4'; // bitsandbytes' default
  if (type !== 'nf4') throw new ConfigError(`bitsandbytes 4-bit quant type ${show(type)} is not supported; only "nf4" is`, hint);
  const storage = q.bnb_4bit_quant_storage ?? 'uint8';
  if (storage !== 'uint8') {
    throw new ConfigError(`bnb_4bit_quant_storage ${show(storage)} is not supported; only "uint8" packing is`, hint);
  }
  const skip = q.llm_int8_skip_modules;
  if (skip !== undefined && skip !== null && !(Array.isArray(skip) && skip.every((s) => typeof s === 'string'))) {
    throw new ConfigError(`quantization_config.llm_int8_skip_modules must be a list of module names, got ${show(skip)}`, HINT_DAMAGED);
  }
  return {
    kind: 'bnb-nf4',
    doubleQuant: q.bnb_4bit_use_double_quant === true,
    skipModules: Array.isArray(skip) ? [...(skip as string[])] : [],
    blockSize: 64,
    computeDtype: typeof q.bnb_4bit_compute_dtype === 'string' ? q.bnb_4bit_compute_dtype : 'float32',
  };
}

/**
 * transformers' rule for llm_int8_skip_modules: a module stays unquantized when some entry `key`
 * equals its full name or `key + '.'` occurs in it ("lm_head", "model.layers.1.mlp" → its gate/up/down).
 */
export function isSkippedModule(moduleName: string, skipModules: readonly string[]): boolean {
  return skipModules.some((key) => moduleName === key || `${moduleName}.`.includes(`${key}.`));
}

function parseEos(v: unknown): number[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x, i) => tokenId(x, `eos_token_id[${i}]`));
  return [tokenId(v, 'eos_token_id')];
}

function parseHeads(json: Record<string, unknown>, hidden: number): { numHeads: number; numKvHeads: number; headDim: number } {
  const numHeads = posInt(json, 'num_attention_heads');
  const numKvHeads = json.num_key_value_heads === undefined || json.num_key_value_heads === null
    ? numHeads : posInt(json, 'num_key_value_heads');
  let headDim: number;
  if (json.head_dim !== undefined && json.head_dim !== null) headDim = posInt(json, 'head_dim');
  else if (hidden % numHeads !== 0) {
    throw new ConfigError(`hidden_size ${hidden} is not divisible by num_attention_heads ${numHeads} (and no head_dim is given)`, HINT_DAMAGED);
  } else headDim = hidden / numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`, HINT_DAMAGED);
  }
  if (headDim % 2 !== 0) throw new ConfigError(`head dim ${headDim} is odd; RoPE rotates pairs and needs an even head dim`, HINT_DAMAGED);
  return { numHeads, numKvHeads, headDim };
}

function parseTie(v: unknown): boolean {
  if (v === undefined) return false; // transformers' Qwen2Config default
  if (typeof v !== 'boolean') throw new ConfigError(`config.json field "tie_word_embeddings" must be true or false, got ${show(v)}`, HINT_DAMAGED);
  return v;
}

/** Parses and checks a Qwen2 config.json (object or its parsed JSON); throws ConfigError. */
export function parseQwen2Config(json: unknown, limits: EngineLimits = {}): Qwen2Config {
  if (!isRecord(json)) {
    throw new ConfigError(`config.json must be a JSON object, got ${Array.isArray(json) ? 'an array' : show(json)}`, HINT_DAMAGED);
  }
  checkArchitecture(json);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu' && act !== 'swish') {
    throw new ConfigError(`hidden_act ${show(act)} is not supported; Qwen2 uses "silu"`, HINT_FAMILY);
  }
  const hiddenSize = posInt(json, 'hidden_size');
  const numLayers = posInt(json, 'num_hidden_layers');
  const eps = json.rms_norm_eps ?? 1e-6;
  const config: Qwen2Config = {
    hiddenSize,
    intermediateSize: posInt(json, 'intermediate_size'),
    numLayers,
    ...parseHeads(json, hiddenSize),
    vocabSize: posInt(json, 'vocab_size'),
    ropeTheta: parseRope(json),
    rmsNormEps: posNumber(eps, 'rms_norm_eps'),
    tieWordEmbeddings: parseTie(json.tie_word_embeddings),
    maxPositionEmbeddings: posInt(json, 'max_position_embeddings'),
    bosTokenId: json.bos_token_id === undefined || json.bos_token_id === null ? null : tokenId(json.bos_token_id, 'bos_token_id'),
    eosTokenIds: parseEos(json.eos_token_id),
    torchDtype: typeof json.torch_dtype === 'string' ? json.torch_dtype : typeof json.dtype === 'string' ? json.dtype : null,
    attentionBias: { q: true, k: true, v: true, o: false },
    slidingWindow: parseSlidingWindow(json, numLayers),
    quantization: parseQuantization(json.quantization_config),
    raw: json,
  };
  validateForEngine(config, limits);
  return config;
}

/**
 * Checks a parsed config against what a run will use: sequences no longer than the model's
 * positions, and a sliding window (if on) no shorter than the sequences (then it is full attention).
 */
export function validateForEngine(config: Qwen2Config, limits: EngineLimits = {}): void {
  const maxLen = limits.maxSequenceLength ?? config.maxPositionEmbeddings;
  if (!Number.isSafeInteger(maxLen) || maxLen <= 0) {
    throw new ConfigError(`maxSequenceLength must be a positive integer, got ${maxLen}`, 'pass prompt + completion length in tokens');
  }
  if (maxLen > config.maxPositionEmbeddings) {
    throw new ConfigError(
      `sequences of ${maxLen} tokens exceed the model's max_position_embeddings ${config.maxPositionEmbeddings}`,
      'shorten the prompt or the maximum completion length',
    );
  }
  if (config.slidingWindow !== null && config.slidingWindow < maxLen) {
    throw new ConfigError(
      `config.json turns on sliding-window attention (use_sliding_window: true, sliding_window ${config.slidingWindow}), ` +
        `shorter than the ${maxLen} tokens a sequence may span`,
      'TabZero implements full causal attention only: set use_sliding_window to false (published Qwen2.5 configs ' +
        'have it off), or keep prompt + completion within the window',
    );
  }
}

// ---- The tensors of a Qwen2 checkpoint (transformers names, PyTorch Linear layout [out, in]) ----

export const PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type Projection = (typeof PROJECTIONS)[number];

export interface ProjectionShape {
  name: Projection;
  module: 'self_attn' | 'mlp';
  out: number;
  in: number;
  bias: boolean;
}

/** The 7 linear projections of one layer, weight [out, in]; q/k/v carry a bias [out]. */
export function projectionShapes(config: Qwen2Config): ProjectionShape[] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D } = config;
  return [
    { name: 'q_proj', module: 'self_attn', out: H * D, in: C, bias: true },
    { name: 'k_proj', module: 'self_attn', out: K * D, in: C, bias: true },
    { name: 'v_proj', module: 'self_attn', out: K * D, in: C, bias: true },
    { name: 'o_proj', module: 'self_attn', out: C, in: H * D, bias: false },
    { name: 'gate_proj', module: 'mlp', out: I, in: C, bias: false },
    { name: 'up_proj', module: 'mlp', out: I, in: C, bias: false },
    { name: 'down_proj', module: 'mlp', out: C, in: I, bias: false },
  ];
}

export type TensorRole = 'embedding' | 'linear' | 'bias' | 'norm' | 'lm_head';

export interface ExpectedTensor {
  name: string;
  /** logical shape; a bnb-4bit linear is stored as packed U8 bytes instead (see `quantized`) */
  shape: number[];
  role: TensorRole;
  layer: number | null; // null for the embedding, the final norm and lm_head
  /** stored as bnb NF4: packed U8 plus .absmax/.quant_map/.quant_state (and .nested_* if doubleQuant) */
  quantized: boolean;
}

/** Every tensor the forward pass reads, in file order of a transformers checkpoint. */
export function expectedTensors(config: Qwen2Config): ExpectedTensor[] {
  const { hiddenSize: C, vocabSize: V } = config;
  const q = config.quantization;
  const out: ExpectedTensor[] = [{ name: 'model.embed_tokens.weight', shape: [V, C], role: 'embedding', layer: null, quantized: false }];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    out.push({ name: `${p}.input_layernorm.weight`, shape: [C], role: 'norm', layer: l, quantized: false });
    for (const s of projectionShapes(config)) {
      const mod = `${p}.${s.module}.${s.name}`;
      const quantized = q !== null && !isSkippedModule(mod, q.skipModules);
      out.push({ name: `${mod}.weight`, shape: [s.out, s.in], role: 'linear', layer: l, quantized });
      if (s.bias) out.push({ name: `${mod}.bias`, shape: [s.out], role: 'bias', layer: l, quantized: false });
    }
    out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [C], role: 'norm', layer: l, quantized: false });
  }
  out.push({ name: 'model.norm.weight', shape: [C], role: 'norm', layer: null, quantized: false });
  if (!config.tieWordEmbeddings) {
    const quantized = q !== null && !isSkippedModule('lm_head', q.skipModules);
    out.push({ name: 'lm_head.weight', shape: [V, C], role: 'lm_head', layer: null, quantized });
  }
  return out;
}

/** What the loader knows of a stored tensor (a formats/safetensors TensorInfo fits). */
export interface TensorMeta {
  name: string;
  shape: readonly number[];
  dtype: string;
}

export interface CheckpointProblem {
  tensor: string;
  message: string;
  hint: string;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
const HINT_MISSING = 'the download may be incomplete (a missing shard?) or the weights belong to another model than config.json; download again';
const HINT_MISMATCH = 'config.json and the *.safetensors files come from different models; download both from the same repo';

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function checkOne(e: ExpectedTensor, byName: ReadonlyMap<string, TensorMeta>, doubleQuant: boolean): CheckpointProblem | null {
  const t = byName.get(e.name);
  if (!t) return { tensor: e.name, message: `checkpoint lacks tensor "${e.name}" (expected shape ${fmt(e.shape)})`, hint: HINT_MISSING };
  if (!e.quantized) {
    if (!FLOAT_DTYPES.has(t.dtype)) {
      return { tensor: e.name, message: `tensor "${e.name}" has dtype ${t.dtype}; expected F32, F16 or BF16`, hint: HINT_MISMATCH };
    }
    if (fmt(t.shape) !== fmt(e.shape)) {
      return { tensor: e.name, message: `tensor "${e.name}" has shape ${fmt(t.shape)}; config.json implies ${fmt(e.shape)}`, hint: HINT_MISMATCH };
    }
    return null;
  }
  const n = numel(e.shape);
  if (t.dtype !== 'U8' || numel(t.shape) !== Math.ceil(n / 2)) {
    return {
      tensor: e.name,
      message: `bnb-4bit tensor "${e.name}" is ${t.dtype} ${fmt(t.shape)}; expected ${Math.ceil(n / 2)} packed U8 bytes for logical shape ${fmt(e.shape)}`,
      hint: HINT_MISMATCH,
    };
  }
  const companions = ['absmax', 'quant_map', 'quant_state.bitsandbytes__nf4', ...(doubleQuant ? ['nested_absmax', 'nested_quant_map'] : [])];
  for (const c of companions) {
    if (!byName.has(`${e.name}.${c}`)) {
      return { tensor: `${e.name}.${c}`, message: `bnb-4bit checkpoint lacks "${e.name}.${c}"`, hint: HINT_MISSING };
    }
  }
  const absmax = byName.get(`${e.name}.absmax`) as TensorMeta;
  if (numel(absmax.shape) !== Math.ceil(n / 64)) {
    return {
      tensor: `${e.name}.absmax`,
      message: `"${e.name}.absmax" has ${numel(absmax.shape)} values; blocks of 64 over ${n} weights need ${Math.ceil(n / 64)}`,
      hint: HINT_MISMATCH,
    };
  }
  return null;
}

/** All problems with a checkpoint's tensor list, in the order of expectedTensors; extra tensors are fine. */
export function checkCheckpointTensors(config: Qwen2Config, tensors: Iterable<TensorMeta>): CheckpointProblem[] {
  const byName = new Map<string, TensorMeta>();
  for (const t of tensors) byName.set(t.name, t);
  const doubleQuant = config.quantization?.doubleQuant ?? false;
  const problems: CheckpointProblem[] = [];
  for (const e of expectedTensors(config)) {
    const p = checkOne(e, byName, doubleQuant);
    if (p) problems.push(p);
  }
  return problems;
}

/** Throws a CheckpointError naming the first missing or mismatched tensor (and how many more). */
export function assertCheckpointComplete(config: Qwen2Config, tensors: Iterable<TensorMeta>): void {
  const problems = checkCheckpointTensors(config, tensors);
  const first = problems[0];
  if (!first) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  throw new CheckpointError(first.message + more, first.hint);
}
