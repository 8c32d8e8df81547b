// bitsandbytes NF4 checkpoints (unsloth/*-bnb-4bit) on the CPU: gather a linear's companion tensors,
// expand double-quantized absmax, and repack into our q4 layout. Pure functions, no GPU.
// bnb layout (bitsandbytes functional.py quantize_4bit / QuantState.as_dict, backends/default/ops.py,
// csrc/kernels.cu kQuantizeBlockwise): W [out, in] flattened row-major, blocks of `blocksize` (64)
// consecutive elements of the flat tensor; weight = U8 [(n+1)/2, 1], element 2i in the HIGH nibble of
// byte i, element 2i+1 in the low nibble; W[i] = quant_map[code(i)] · absmax[i / blocksize].
// `.absmax` F32 [blocks], or with double quantization U8 codes and absmax[j] = f32(f32(
// nested_quant_map[code j] · nested_absmax[j / 256]) + offset); offset, blocksize, shape, dtype and
// nested_blocksize live in the JSON (UTF-8 bytes) of `.quant_state.bitsandbytes__nf4`.
import { CheckpointError } from './errors';
import { f32ToF16Bits, scaleStride, type Q4Host } from '../formats/q4';
import { toFloat32, type Dtype } from '../formats/safetensors';

export const BNB_SUFFIXES = ['absmax', 'quant_map', 'nested_absmax', 'nested_quant_map', 'quant_state.bitsandbytes__nf4'] as const;
type Part = 'weight' | (typeof BNB_SUFFIXES)[number];

const HINT_DAMAGED = 'the bitsandbytes checkpoint is damaged or was saved by an unsupported bitsandbytes version; download it again';

export interface BnbQuantState {
  quantType: string;
  blocksize: number;
  shape: number[];
  dtype: string;
  /** present with double quantization */
  nested: { blocksize: number; offset: number; dtype: string } | null;
}

/** One NF4 linear, gathered: W [N, K] as packed codes with f32 (expanded) absmax per block. */
export interface BnbTensor {
  name: string;
  N: number;
  K: number;
  /** U8 [(N·K + 1) / 2], bnb nibble order */
  packed: Uint8Array;
  /** f32 [⌈N·K / blocksize⌉], already expanded when double-quantized */
  absmax: Float32Array;
  /** f32 [16] */
  quantMap: Float32Array;
  blocksize: number;
}

function fail(name: string, msg: string): never {
  throw new CheckpointError(`bnb-4bit tensor "${name}": ${msg}`, HINT_DAMAGED);
}

/** Parses and checks the JSON of `<weight>.quant_state.bitsandbytes__nf4`. */
export function parseBnbQuantState(name: string, bytes: Uint8Array): BnbQuantState {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    fail(name, `quant_state is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(name, 'quant_state is not a JSON object');
  const q = json as Record<string, unknown>;
  const num = (k: string): number => {
    const v = q[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(name, `quant_state.${k} is ${JSON.stringify(v)}, expected a number`);
    return v;
  };
  if (q.quant_type !== 'nf4') fail(name, `quant_state.quant_type is ${JSON.stringify(q.quant_type)}; only "nf4" is supported`);
  const blocksize = num('blocksize');
  if (blocksize !== 64) {
    throw new CheckpointError(`bnb-4bit tensor "${name}" uses blocks of ${blocksize}; TabZero loads blocks of 64 (bnb_4bit_blocksize default)`,
      'use a checkpoint quantized with blocksize 64 (every unsloth *-bnb-4bit repo is), or the unquantized BF16 model (quantized at load)');
  }
  const shape = q.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) fail(name, `quant_state.shape is ${JSON.stringify(shape)}`);
  const nested = q.nested_offset === undefined ? null : {
    blocksize: num('nested_blocksize'), offset: Math.fround(num('nested_offset')), dtype: String(q.nested_dtype ?? 'float32'),
  };
  if (nested && (!Number.isSafeInteger(nested.blocksize) || nested.blocksize < 1)) fail(name, `quant_state.nested_blocksize is ${nested.blocksize}`);
  return { quantType: 'nf4', blocksize, shape: shape as number[], dtype: String(q.dtype ?? ''), nested };
}

/** absmax[j] = f32(f32(code[q[j]] · nestedAbsmax[j / blocksize]) + offset), as bnb dequantize_blockwise + offset */
export function expandAbsmax(q: Uint8Array, nestedAbsmax: Float32Array, code: Float32Array, offset: number, blocksize: number): Float32Array {
  const out = new Float32Array(q.length);
  const off = Math.fround(offset);
  for (let j = 0; j < q.length; j++) out[j] = Math.fround(Math.fround(code[q[j]] * nestedAbsmax[Math.floor(j / blocksize)]) + off);
  return out;
}

interface Pending { parts: Map<Part, { dtype: Dtype; shape: number[]; bytes: Uint8Array }>; state: BnbQuantState | null }

/**
 * Collects the tensors of bnb linears in any file order; a linear is handed out once its weight and
 * all companions are in (then forgotten). Memory: what arrives before its partners waits here.
 */
export class BnbAssembler {
  private pending = new Map<string, Pending>();

  /** weightName and part when `name` is a bnb companion of a known linear weight, else null */
  static split(name: string, isLinear: (weight: string) => boolean): { weight: string; part: Part } | null {
    if (isLinear(name)) return { weight: name, part: 'weight' };
    for (const s of BNB_SUFFIXES) {
      if (name.endsWith(`.${s}`) && isLinear(name.slice(0, -s.length - 1))) return { weight: name.slice(0, -s.length - 1), part: s };
    }
    return null;
  }

  /** Adds one tensor; returns the gathered linear when it is complete. */
  add(weight: string, part: Part, dtype: Dtype, shape: number[], bytes: Uint8Array, N: number, K: number): BnbTensor | null {
    let p = this.pending.get(weight);
    if (!p) this.pending.set(weight, (p = { parts: new Map(), state: null }));
    p.parts.set(part, { dtype, shape, bytes });
    if (part === 'quant_state.bitsandbytes__nf4') p.state = parseBnbQuantState(weight, bytes);
    const need: Part[] = ['weight', 'absmax', 'quant_map', 'quant_state.bitsandbytes__nf4'];
    if (p.state?.nested) need.push('nested_absmax', 'nested_quant_map');
    if (!p.state || need.some((n) => !p.parts.has(n))) return null;
    this.pending.delete(weight);
    return assemble(weight, p, p.state, N, K);
  }

  /** names of linears still waiting for a part (a checkpoint lacking a companion) */
  waiting(): string[] {
    return [...this.pending.keys()];
  }
}

function floats(weight: string, p: Pending, part: Part, count: number | null): Float32Array {
  const t = p.parts.get(part);
  if (!t) fail(weight, `missing ${part}`);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail(weight, `${part} is ${t.dtype}, expected F32`);
  const v = toFloat32(t.dtype, t.bytes);
  if (count !== null && v.length !== count) fail(weight, `${part} has ${v.length} values, expected ${count}`);
  return v;
}

function assemble(weight: string, p: Pending, st: BnbQuantState, N: number, K: number): BnbTensor {
  if (st.shape.length !== 2 || st.shape[0] !== N || st.shape[1] !== K) fail(weight, `quant_state.shape ${JSON.stringify(st.shape)} is not [${N}, ${K}]`);
  const n = N * K;
  const blocks = Math.ceil(n / st.blocksize);
  const w = p.parts.get('weight');
  if (!w || w.dtype !== 'U8' || w.bytes.length !== Math.ceil(n / 2)) fail(weight, `weight must be ${Math.ceil(n / 2)} packed U8 bytes`);
  const quantMap = floats(weight, p, 'quant_map', 16);
  let absmax: Float32Array;
  if (st.nested) {
    const q = p.parts.get('absmax');
    if (!q || q.dtype !== 'U8' || q.bytes.length !== blocks) fail(weight, `double-quantized absmax must be ${blocks} U8 codes`);
    const nested = floats(weight, p, 'nested_absmax', Math.ceil(blocks / st.nested.blocksize));
    const code = floats(weight, p, 'nested_quant_map', 256);
    absmax = expandAbsmax(q.bytes, nested, code, st.nested.offset, st.nested.blocksize);
  } else {
    absmax = floats(weight, p, 'absmax', blocks);
  }
  return { name: weight, N, K, packed: w.bytes, absmax, quantMap, blocksize: st.blocksize };
}

/** True when bnb's blocks are our blocks (each row holds whole 64-blocks). */
export function bnbAlignsWithQ4(t: BnbTensor): boolean {
  return t.blocksize === 64 && t.K % 64 === 0;
}

/**
 * Repacks to our q4 layout without requantizing: codes are the same nibbles (our element 2i is in
 * the LOW nibble of byte i: a nibble swap per byte), scales = f16(absmax) (round to nearest even),
 * codebook = quant_map. Needs bnbAlignsWithQ4.
 */
export function repackBnbToQ4(t: BnbTensor): Q4Host {
  if (!bnbAlignsWithQ4(t)) throw new Error(`repackBnbToQ4: ${t.name} has K=${t.K} and blocks of ${t.blocksize}; blocks cross rows`);
  const bytes = new Uint8Array((t.N * t.K) / 2);
  for (let i = 0; i < bytes.length; i++) {
    const b = t.packed[i];
    bytes[i] = ((b & 0x0f) << 4) | (b >> 4);
  }
  const bpr = t.K / 64;
  const ss = scaleStride(t.K);
  const scales = new Uint16Array(t.N * ss);
  for (let n = 0; n < t.N; n++) {
    for (let b = 0; b < bpr; b++) scales[n * ss + b] = f32ToF16Bits(t.absmax[n * bpr + b]);
  }
  return { N: t.N, K: t.K, codes: new Uint32Array(bytes.buffer), scales, codebook: Float32Array.from(t.quantMap) };
}

/** Rows [r0, r1) of W as f32, as bnb's dequantize_4bit computes them before its cast: quant_map[code] · absmax. */
export function dequantizeBnbRows(t: BnbTensor, r0: number, r1: number): Float32Array {
  const out = new Float32Array((r1 - r0) * t.K);
  for (let i = r0 * t.K, o = 0; i < r1 * t.K; i++, o++) {
    const b = t.packed[i >> 1];
    const code = i & 1 ? b & 0x0f : b >> 4;
    out[o] = Math.fround(t.quantMap[code] * t.absmax[Math.floor(i / t.blocksize)]);
  }
  return out;
}
