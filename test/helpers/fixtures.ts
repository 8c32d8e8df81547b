// Loader for the reference fixtures in test/fixtures/reference-*/ (numbers computed by transformers +
// PEFT + TRL in float64). Generic: a new reference-* directory with the same layout needs no code change.
// Layout: cases.json, cases.safetensors, model/config.json, adapter/adapter_config.json,
// adapter/adapter_model.safetensors (model/model.safetensors is read by whoever needs the weights).
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, toFloat32, toInt32, type Dtype } from '../../src/formats/safetensors';

/** Directory holding every reference-* fixture. */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** One tensor from a fixture file: floats as Float32Array (F64 kept as Float64Array), integers as Int32Array. */
export interface FixtureTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Float64Array | Int32Array;
}

/** Scalar results of one `{case}.{variant}` entry of cases.json. */
export interface CaseResult {
  loss: number;
  kl_mean: number;
  clip_ratio: number;
  grad_norm: number;
  [extra: string]: unknown;
}

/** AdamW settings and results in cases.json → adamw. */
export interface AdamWCase {
  lr: number;
  beta1: number;
  beta2: number;
  weight_decay: number;
  eps: number;
  max_grad_norm: number;
  clip_scale?: number;
  [extra: string]: unknown;
}

/** cases.json: the fields every reference fixture has; anything else stays readable through the index. */
export interface ReferenceCases {
  prompt_len: number;
  completion_lens: number[];
  temperature: number;
  beta: number;
  epsilon_low: number;
  epsilon_high: number;
  max_completion_length: number;
  lora_r: number;
  lora_alpha: number;
  adapter_keys: string[];
  cases: Record<string, CaseResult>;
  adamw: AdamWCase;
  [extra: string]: unknown;
}

export type JsonObject = Record<string, unknown>;

export interface ReferenceFixture {
  name: string;
  /** absolute path of the fixture directory */
  dir: string;
  cases: ReferenceCases;
  /** cases.safetensors, by tensor name */
  tensors: Map<string, FixtureTensor>;
  modelConfig: JsonObject;
  adapterConfig: JsonObject;
  /** adapter/adapter_model.safetensors, by PEFT key */
  adapterTensors: Map<string, FixtureTensor>;
}

/** Names (not paths) of every test/fixtures/reference-* directory, sorted. */
export function listReferenceFixtures(): string[] {
  return readdirSync(FIXTURES_DIR)
    .filter((n) => n.startsWith('reference-') && statSync(join(FIXTURES_DIR, n)).isDirectory())
    .sort();
}

function readJson(path: string): JsonObject {
  if (!existsSync(path)) {
    throw Object.assign(new Error(`fixture file ${path} is missing`), {
      hint: 'a reference-* fixture needs cases.json, model/config.json and adapter/adapter_config.json; copy it again from shared/fixtures',
    });
  }
  return JSON.parse(readFileSync(path, 'utf8')) as JsonObject;
}

function decodeTensor(name: string, dtype: Dtype, shape: number[], bytes: Uint8Array): FixtureTensor {
  if (dtype === 'F64') {
    const out = new Float64Array(bytes.byteLength / 8);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat64(8 * i, true);
    return { name, dtype, shape, data: out };
  }
  const isFloat = dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
  return { name, dtype, shape, data: isFloat ? toFloat32(dtype, bytes) : toInt32(dtype, bytes) };
}

/** Reads a whole safetensors file into decoded tensors. */
export function readTensorFile(path: string): Map<string, FixtureTensor> {
  const { tensors } = readSafetensors(new Uint8Array(readFileSync(path)));
  const out = new Map<string, FixtureTensor>();
  for (const [name, t] of tensors) out.set(name, decodeTensor(name, t.info.dtype, t.info.shape, t.bytes));
  return out;
}

export function loadReferenceFixture(name: string): ReferenceFixture {
  const dir = join(FIXTURES_DIR, name);
  if (!existsSync(dir)) {
    throw Object.assign(new Error(`no fixture directory ${dir}; found ${listReferenceFixtures().join(', ') || 'none'}`), {
      hint: 'use a name returned by listReferenceFixtures()',
    });
  }
  return {
    name,
    dir,
    cases: readJson(join(dir, 'cases.json')) as ReferenceCases,
    tensors: readTensorFile(join(dir, 'cases.safetensors')),
    modelConfig: readJson(join(dir, 'model', 'config.json')),
    adapterConfig: readJson(join(dir, 'adapter', 'adapter_config.json')),
    adapterTensors: readTensorFile(join(dir, 'adapter', 'adapter_model.safetensors')),
  };
}

/** A tensor by name, or an error naming the file and what it does have. */
export function tensor(map: Map<string, FixtureTensor>, name: string): FixtureTensor {
  const t = map.get(name);
  if (!t) {
    const some = [...map.keys()].slice(0, 8).join(', ');
    throw Object.assign(new Error(`fixture tensor '${name}' not found (${map.size} tensors: ${some}…)`), {
      hint: 'regenerate the fixture or check the tensor name',
    });
  }
  return t;
}

/** A floating-point tensor widened to Float64Array (for float64 reference math). */
export function floats(map: Map<string, FixtureTensor>, name: string): Float64Array {
  const t = tensor(map, name);
  if (t.data instanceof Int32Array) {
    throw Object.assign(new Error(`fixture tensor '${name}' is ${t.dtype}, expected a float tensor`), { hint: 'use ints()' });
  }
  return Float64Array.from(t.data);
}

/** An integer tensor. */
export function ints(map: Map<string, FixtureTensor>, name: string): Int32Array {
  const t = tensor(map, name);
  if (!(t.data instanceof Int32Array)) {
    throw Object.assign(new Error(`fixture tensor '${name}' is ${t.dtype}, expected an integer tensor`), { hint: 'use floats()' });
  }
  return t.data;
}
