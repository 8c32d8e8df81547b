// safetensors: parse and validate the header of an untrusted file, read tensors from bytes, and
// write files (PEFT adapters). Bytes only — no GPU, no I/O; streaming sources live in sources.ts.
// Layout: u64 LE header length N | N bytes of UTF-8 JSON | data. Offsets are relative to the data.

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

/** Raised for any malformed safetensors file; `code` names the rule that failed. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly code: string,
    message: string,
    readonly hint = 'the file is not a valid safetensors file; download it again or re-export it',
  ) {
    super(message);
  }
}

/** Reads the u64 little-endian header length from the first 8 bytes. */
export function readHeaderLength(first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new SafetensorsError('too_small', `file has ${first8.byteLength} bytes; a safetensors file starts with an 8-byte header length`);
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new SafetensorsError('header_too_large', `header length ${n} is not a safe integer`);
  return Number(n);
}

export function parseHeader(bytes: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerSize = readHeaderLength(bytes);
  if (bytes.byteLength < 8 + headerSize) {
    throw new SafetensorsError('truncated_header', `header needs ${8 + headerSize} bytes, got ${bytes.byteLength}`);
  }
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerSize));
  const json = JSON.parse(text) as Record<string, unknown>;
  const metadata = (json.__metadata__ ?? {}) as Record<string, string>;
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const t = v as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    tensors.push({ name, dtype: t.dtype, shape: t.shape, begin: t.data_offsets[0], end: t.data_offsets[1] });
  }
  tensors.sort((a, b) => a.begin - b.begin);
  void fileSize;
  return { headerSize, dataOffset: 8 + headerSize, tensors, metadata };
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

/** Converts F32/F16/BF16/F64 tensor bytes to a fresh Float32Array. */
export function toFloat32(dtype: Dtype, bytes: Uint8Array): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
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
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
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
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = t.data.byteLength;
    const want = elementCount(t.shape) * DTYPE_BYTES[t.dtype];
    if (n !== want) throw new SafetensorsError('length_mismatch', `tensor ${t.name}: ${n} bytes given, shape ${JSON.stringify(t.shape)} of ${t.dtype} needs ${want}`, 'this is a bug in the caller');
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
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
