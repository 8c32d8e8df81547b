// safetensors: parse and validate the header of an untrusted file, read tensors from bytes, and
// write files (PEFT adapters). Bytes only — no GPU, no I/O; streaming sources live in sources.ts.
// Layout: u64 LE header length N | N bytes of UTF-8 JSON | data. Offsets are relative to the data.

import { depthExceededAt, findDuplicateKey } from './json-keys';

export type Dtype =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8'
  | 'BOOL' | 'F8_E4M3' | 'F8_E5M2';

export const DTYPE_BYTES: Record<Dtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** byte offsets relative to the start of the data section; end exclusive */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes */
  headerSize: number;
  /** 8 + N: where tensor data starts in the file */
  dataOffset: number;
  /** tensors sorted by begin offset */
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

/** The rule a file broke; each check in parseHeader has its own code. */
export type SafetensorsErrorCode =
  | 'too_small' | 'header_too_large' | 'truncated_header' | 'bad_header_start' | 'invalid_utf8'
  | 'invalid_json' | 'duplicate_key' | 'bad_metadata' | 'bad_entry' | 'unknown_dtype'
  | 'unsupported_dtype' | 'bad_shape' | 'overflow' | 'bad_offsets' | 'length_mismatch' | 'offset_gap'
  | 'offset_overlap' | 'truncated' | 'trailing_bytes' | 'bad_file_size' | 'bad_index' | 'bad_name';

/** Raised for any malformed safetensors file; `code` names the rule that failed. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly code: SafetensorsErrorCode | (string & {}),
    message: string,
    readonly hint = 'the file is not a valid safetensors file; download it again or re-export it',
  ) {
    super(message);
  }
}

/** The reference implementation's cap: a bigger header is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Valid safetensors dtypes that TabZero does not read (sub-byte or exotic formats). */
const UNSUPPORTED_DTYPES = new Set(['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64']);

/** serde_json's recursion limit, which the reference parser inherits; real headers nest 3 deep. */
const MAX_JSON_DEPTH = 128;

const HINT_CORRUPT = 'the file is damaged or not a safetensors file; download it again or re-export it';

/** Reads the u64 little-endian header length from the first 8 bytes; refuses more than 100 MB. */
export function readHeaderLength(first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new SafetensorsError('too_small', `file has ${first8.byteLength} bytes; a safetensors file starts with an 8-byte header length`, HINT_CORRUPT);
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError('header_too_large', `header length ${n} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`, HINT_CORRUPT);
  }
  return Number(n);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Decodes and parses the JSON header text; rejects bad starts, bad UTF-8, bad JSON, duplicate keys. */
function parseHeaderJson(raw: Uint8Array): Record<string, unknown> {
  if (raw.byteLength === 0 || raw[0] !== 0x7b) {
    const first = raw.byteLength === 0 ? 'nothing' : `byte 0x${raw[0].toString(16).padStart(2, '0')}`;
    throw new SafetensorsError('bad_header_start', `header must start with '{' (0x7b), found ${first}`, HINT_CORRUPT);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    throw new SafetensorsError('invalid_utf8', `header (${raw.byteLength} bytes) is not valid UTF-8`, HINT_CORRUPT);
  }
  const deep = depthExceededAt(text, MAX_JSON_DEPTH);
  if (deep >= 0) throw new SafetensorsError('invalid_json', `header nests deeper than ${MAX_JSON_DEPTH} levels (at character ${deep})`, HINT_CORRUPT);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('invalid_json', `header (${raw.byteLength} bytes) is not valid JSON: ${(e as Error).message}`, HINT_CORRUPT);
  }
  // valid JSON that starts with '{' is an object: no separate check needed
  const dup = findDuplicateKey(text);
  if (dup) {
    const where = dup.path.length ? ` inside ${dup.path.map((k) => JSON.stringify(k)).join(' > ')}` : ' at the top level';
    throw new SafetensorsError('duplicate_key', `header has key ${JSON.stringify(dup.key)} twice${where} (second at character ${dup.at})`, HINT_CORRUPT);
  }
  return json as Record<string, unknown>;
}

function parseMetadata(v: unknown): Record<string, string> {
  if (v === null) return {};
  if (!isPlainObject(v)) throw new SafetensorsError('bad_metadata', `__metadata__ is ${Array.isArray(v) ? 'an array' : typeof v}, expected an object of strings`, HINT_CORRUPT);
  const entries = Object.entries(v);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw new SafetensorsError('bad_metadata', `__metadata__[${JSON.stringify(k)}] is ${val === null ? 'null' : typeof val}, expected a string`, HINT_CORRUPT);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseDtype(name: string, v: unknown): Dtype {
  if (typeof v !== 'string') throw new SafetensorsError('bad_entry', `tensor ${JSON.stringify(name)}: dtype is ${typeof v}, expected a string`, HINT_CORRUPT);
  if (Object.hasOwn(DTYPE_BYTES, v)) return v as Dtype;
  if (UNSUPPORTED_DTYPES.has(v)) {
    throw new SafetensorsError('unsupported_dtype', `tensor ${JSON.stringify(name)}: dtype ${v} is valid safetensors but not supported`, 'convert the checkpoint to BF16, F16 or F32 (or a bnb-4bit U8 layout) and try again');
  }
  throw new SafetensorsError('unknown_dtype', `tensor ${JSON.stringify(name)}: unknown dtype ${JSON.stringify(v.slice(0, 40))}; known: ${Object.keys(DTYPE_BYTES).join(', ')}`, HINT_CORRUPT);
}

function parseShape(name: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw new SafetensorsError('bad_shape', `tensor ${JSON.stringify(name)}: shape is ${v === null ? 'null' : typeof v}, expected an array of integers`, HINT_CORRUPT);
  v.forEach((d: unknown, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new SafetensorsError('bad_shape', `tensor ${JSON.stringify(name)}: shape[${i}] = ${JSON.stringify(d)}, expected a non-negative integer`, HINT_CORRUPT);
    }
  });
  return v as number[];
}

/** Bytes the tensor needs; throws 'overflow' when the count leaves the safe-integer range. */
function tensorBytes(name: string, dtype: Dtype, shape: number[]): number {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new SafetensorsError('overflow', `tensor ${JSON.stringify(name)}: element count of shape ${JSON.stringify(shape)} overflows 2^53`, HINT_CORRUPT);
  }
  const bytes = n * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(bytes)) throw new SafetensorsError('overflow', `tensor ${JSON.stringify(name)}: ${n} elements of ${dtype} overflow 2^53 bytes`, HINT_CORRUPT);
  return bytes;
}

function parseOffsets(name: string, v: unknown): [number, number] {
  const ok = Array.isArray(v) && v.length === 2 && v.every((x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
  if (!ok) throw new SafetensorsError('bad_offsets', `tensor ${JSON.stringify(name)}: data_offsets = ${JSON.stringify(v)?.slice(0, 80)}, expected [begin, end] of non-negative integers`, HINT_CORRUPT);
  const [begin, end] = v as [number, number];
  if (end < begin) throw new SafetensorsError('bad_offsets', `tensor ${JSON.stringify(name)}: data_offsets end ${end} < begin ${begin}`, HINT_CORRUPT);
  return [begin, end];
}

function parseEntry(name: string, v: unknown): TensorInfo {
  if (!isPlainObject(v)) throw new SafetensorsError('bad_entry', `tensor ${JSON.stringify(name)}: entry is ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}, expected {dtype, shape, data_offsets}`, HINT_CORRUPT);
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(v, field)) throw new SafetensorsError('bad_entry', `tensor ${JSON.stringify(name)}: entry has no "${field}"`, HINT_CORRUPT);
  }
  const dtype = parseDtype(name, v.dtype);
  const shape = parseShape(name, v.shape);
  const bytes = tensorBytes(name, dtype, shape);
  const [begin, end] = parseOffsets(name, v.data_offsets);
  if (end - begin !== bytes) {
    throw new SafetensorsError('length_mismatch', `tensor ${JSON.stringify(name)}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes}`, HINT_CORRUPT);
  }
  return { name, dtype, shape: [...shape], begin, end };
}

/** Sorts by offsets and checks they tile [0, total) with no gap or overlap; returns total. */
function checkTiling(tensors: TensorInfo[]): number {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let at = 0;
  let prev = '(start of data)';
  for (const t of tensors) {
    if (t.begin > at) throw new SafetensorsError('offset_gap', `tensor ${JSON.stringify(t.name)} begins at ${t.begin} but ${prev} ends at ${at}: ${t.begin - at} unaccounted bytes`, HINT_CORRUPT);
    if (t.begin < at) throw new SafetensorsError('offset_overlap', `tensor ${JSON.stringify(t.name)} begins at ${t.begin}, inside ${prev} which ends at ${at}`, HINT_CORRUPT);
    at = t.end;
    prev = `tensor ${JSON.stringify(t.name)}`;
  }
  return at;
}

/**
 * Validates the header of an untrusted file. `bytes` holds at least the first 8 + N bytes (N from
 * the length prefix); `fileSize` is the whole file's size, which the data must fill exactly.
 */
export function parseHeader(bytes: Uint8Array, fileSize: number): SafetensorsHeader {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new SafetensorsError('bad_file_size', `file size ${fileSize} is not a non-negative integer`, 'this is a bug in the caller');
  if (fileSize < 8) throw new SafetensorsError('too_small', `file has ${fileSize} bytes; a safetensors file starts with an 8-byte header length`, HINT_CORRUPT);
  const headerSize = readHeaderLength(bytes);
  const dataOffset = 8 + headerSize;
  if (dataOffset > fileSize) throw new SafetensorsError('truncated_header', `header length ${headerSize} needs a file of at least ${dataOffset} bytes, file has ${fileSize}`, HINT_CORRUPT);
  if (bytes.byteLength < dataOffset) throw new SafetensorsError('truncated_header', `header needs ${dataOffset} bytes, got ${bytes.byteLength}`, 'pass the first 8 + N bytes of the file');
  const json = parseHeaderJson(bytes.subarray(8, dataOffset));
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(v);
    else tensors.push(parseEntry(name, v));
  }
  const dataBytes = checkTiling(tensors);
  const want = dataOffset + dataBytes;
  if (want > fileSize) throw new SafetensorsError('truncated', `tensors end at byte ${want} but the file has ${fileSize} bytes (${want - fileSize} missing)`, 'the file is incomplete; download it again');
  if (want < fileSize) throw new SafetensorsError('trailing_bytes', `tensors end at byte ${want} but the file has ${fileSize} bytes (${fileSize - want} unaccounted)`, HINT_CORRUPT);
  return { headerSize, dataOffset, tensors, metadata };
}

export interface LoadedTensor {
  info: TensorInfo;
  /** the tensor's raw bytes (a view into the file's buffer) */
  bytes: Uint8Array;
}

/** Parses a whole in-memory file; returns tensors by name (views, no copies). */
export function readSafetensors(file: Uint8Array): { header: SafetensorsHeader; tensors: Map<string, LoadedTensor> } {
  const header = parseHeader(file, file.byteLength);
  const tensors = new Map<string, LoadedTensor>();
  for (const info of header.tensors) {
    tensors.set(info.name, { info, bytes: file.subarray(header.dataOffset + info.begin, header.dataOffset + info.end) });
  }
  return { header, tensors };
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function wholeElements(dtype: Dtype, bytes: Uint8Array): number {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new SafetensorsError('length_mismatch', `${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`, 'pass the bytes of exactly one tensor');
  }
  return bytes.byteLength / size;
}

/** Converts F32/F16/BF16/F64 tensor bytes to a fresh Float32Array. */
export function toFloat32(dtype: Dtype, bytes: Uint8Array): Float32Array {
  const n = wholeElements(dtype, bytes);
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true); break;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      break;
    }
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true)); break;
    default: throw new SafetensorsError('unsupported_dtype', `cannot convert ${dtype} to float32`, 'only floating-point tensors convert to float32');
  }
  return out;
}

/** Converts I32/I64/U8… tensor bytes to an Int32Array (values must fit in 32 bits). */
export function toInt32(dtype: Dtype, bytes: Uint8Array): Int32Array {
  const n = wholeElements(dtype, bytes);
  const out = new Int32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, true); break;
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(8 * i, true)); break;
    case 'U8': for (let i = 0; i < n; i++) out[i] = dv.getUint8(i); break;
    default: throw new SafetensorsError('unsupported_dtype', `cannot convert ${dtype} to int32`, 'expected an integer tensor');
  }
  return out;
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  data: Uint8Array | Float32Array | Int32Array;
}

/** Serialises tensors (in the given order) with optional string metadata. */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const entries: [string, unknown][] = metadata ? [['__metadata__', metadata]] : [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || names.has(t.name)) throw new SafetensorsError('bad_name', `tensor name ${JSON.stringify(t.name)} is ${names.has(t.name) ? 'used twice' : 'reserved'}`, 'this is a bug in the caller');
    names.add(t.name);
    const n = t.data.byteLength;
    const want = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    if (n !== want) throw new SafetensorsError('length_mismatch', `tensor ${t.name}: ${n} bytes given, shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${want}`, 'this is a bug in the caller');
    entries.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] }]);
    offset += n;
  }
  // fromEntries defines own properties, so even a tensor named "__proto__" is written as a key
  let json = JSON.stringify(Object.fromEntries(entries));
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8); // align data to 8 bytes
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.byteLength), true);
  out.set(hb, 8);
  let p = 8 + hb.byteLength;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}
