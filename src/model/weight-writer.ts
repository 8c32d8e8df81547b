// Empty GPU weights of a known shape (split into row parts that fit one binding, as uploadWeight
// splits) and writers that fill any row range of them from host rows, crossing parts as needed.
// The loader and the random model build every Weight through here.
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import type { Weight, WeightPart } from '../kernels/matmul';
import type { Region } from '../kernels/quantize_q4';
import { NF4_CODEBOOK, scaleStride, type Q4Host } from '../formats/q4';
import { rowBytes, type WeightFormat } from '../formats/weights';

export interface AllocWeightOptions {
  /** largest binding a part may use (default: the device's maxStorageBufferBindingSize, at most maxBufferSize) */
  maxBinding?: number;
  /** f32[N] bias buffer */
  bias?: boolean;
  /** q4: the initial codebook (default NF4) */
  codebook?: Float32Array;
}

/** Rows per part: multiples of 64 so that every part fits one binding (uploadWeight's rule). */
export function rowsPerPart(format: WeightFormat, K: number, maxBinding: number): number {
  return Math.max(64, Math.floor(maxBinding / rowBytes(format, K) / 64) * 64);
}

/** Bytes of one part's buffers: [data, scales] (scales 0 for bf16). */
export function partBytes(format: WeightFormat, rows: number, K: number): [number, number] {
  if (format === 'q4') return [rows * (K / 2), rows * scaleStride(K) * 2];
  if (format === 'bf16') return [rows * K * 2, 0];
  return [rows * K, rows * 4];
}

/** An uninitialised weight W [N, K] on the GPU (q4 codebook filled); destroy with destroyWeight. */
export function allocWeight(ctx: GpuContext, format: WeightFormat, N: number, K: number, label: string, opts: AllocWeightOptions = {}): Weight {
  const per = rowsPerPart(format, K, opts.maxBinding ?? Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize ?? Infinity));
  const w: Weight = { format, N, K, parts: [], codebook: null, bias: null, bytes: 0 };
  const keep = (b: GPUBuffer) => { w.bytes += b.size; return b; };
  try {
    for (let n0 = 0; n0 < N; n0 += per) {
      const rows = Math.min(per, N - n0);
      const [d, s] = partBytes(format, rows, K);
      const data = keep(ctx.memory.create(`${label}[${n0}].${format}`, d));
      const part: WeightPart = { rowOffset: n0, rows, data, scales: null };
      w.parts.push(part);
      if (s) part.scales = keep(ctx.memory.create(`${label}[${n0}].scales`, s));
    }
    if (format === 'q4') w.codebook = keep(ctx.memory.upload(`${label}.codebook`, Float32Array.from(opts.codebook ?? NF4_CODEBOOK)));
    if (opts.bias) w.bias = keep(ctx.memory.create(`${label}.bias`, N * 4));
  } catch (e) {
    for (const p of w.parts) { ctx.memory.destroy(p.data as GPUBuffer); ctx.memory.destroy(p.scales as GPUBuffer | null); }
    ctx.memory.destroy(w.codebook);
    throw e;
  }
  return w;
}

/** One piece of a row range inside one part: rows [from, from + rows) of the source go to part row `at`. */
export interface PartSlice {
  part: WeightPart;
  at: number;
  from: number;
  rows: number;
}

/** Splits rows [row0, row0 + rows) of w by part. */
export function partSlices(w: Weight, row0: number, rows: number): PartSlice[] {
  if (!Number.isInteger(row0) || row0 < 0 || row0 + rows > w.N) throw new Error(`rows [${row0}, ${row0 + rows}) are outside a weight of ${w.N} rows`);
  const out: PartSlice[] = [];
  for (const part of w.parts) {
    const a = Math.max(row0, part.rowOffset);
    const b = Math.min(row0 + rows, part.rowOffset + part.rows);
    if (a < b) out.push({ part, at: a - part.rowOffset, from: a - row0, rows: b - a });
  }
  return out;
}

/** writes `data` at byte `offset` of a part's buffer (or window) */
function put(ctx: GpuContext, r: Region | null, offset: number, data: ArrayBufferView): void {
  if (!r) throw new Error('weight part lacks the buffer being written (wrong format?)');
  if ('buffer' in r) writeView(ctx.device, r.buffer, r.offset + offset, data);
  else writeView(ctx.device, r, offset, data);
}

/** rows of bf16 bits [rows, K] → w rows [row0, row0 + rows) */
export function writeBf16Rows(ctx: GpuContext, w: Weight, row0: number, bits: Uint16Array): number {
  const rows = bits.length / w.K;
  for (const s of partSlices(w, row0, rows)) {
    put(ctx, s.part.data, s.at * w.K * 2, bits.subarray(s.from * w.K, (s.from + s.rows) * w.K));
  }
  return bits.byteLength;
}

/** q4 rows (codes + scales, our layout) → w rows [row0, row0 + q.N) */
export function writeQ4Rows(ctx: GpuContext, w: Weight, row0: number, q: Q4Host): number {
  const wpr = w.K / 8;
  const ss = scaleStride(w.K);
  for (const s of partSlices(w, row0, q.N)) {
    put(ctx, s.part.data, s.at * wpr * 4, q.codes.subarray(s.from * wpr, (s.from + s.rows) * wpr));
    put(ctx, s.part.scales, s.at * ss * 2, q.scales.subarray(s.from * ss, (s.from + s.rows) * ss));
  }
  return q.codes.byteLength + q.scales.byteLength;
}

/** int8 rows [rows, K] with f32 row scales → w rows [row0, row0 + rows) */
export function writeI8Rows(ctx: GpuContext, w: Weight, row0: number, q: Int8Array, scales: Float32Array): number {
  for (const s of partSlices(w, row0, scales.length)) {
    put(ctx, s.part.data, s.at * w.K, q.subarray(s.from * w.K, (s.from + s.rows) * w.K));
    put(ctx, s.part.scales, s.at * 4, scales.subarray(s.from, s.from + s.rows));
  }
  return q.byteLength + scales.byteLength;
}

/** f32 values → w.bias [row0, row0 + values.length) */
export function writeBias(ctx: GpuContext, w: Weight, row0: number, values: Float32Array): number {
  if (!w.bias) throw new Error('writeBias: the weight has no bias buffer');
  writeView(ctx.device, w.bias, row0 * 4, values);
  return values.byteLength;
}
