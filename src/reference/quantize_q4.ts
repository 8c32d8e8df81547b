// Naive CPU reference of the quantize-at-load kernel: a tensor's raw F32/BF16/F16 bytes → q4 via
// quantizeQ4 (src/formats/q4.ts) on the exact f32 values, then placed at a row offset of a
// destination, as the kernel writes it. Never optimised.
import { quantizeQ4, scaleStride, NF4_CODEBOOK, type Q4Host } from '../formats/q4';
import { toFloat32 } from '../formats/safetensors';

export type RawFloatDtype = 'F32' | 'BF16' | 'F16';

/** raw [rows, K] of dtype (little-endian bytes) → q4 codes u32[rows · K/8], scales u16[rows · S] */
export function quantizeQ4Ref(bytes: Uint8Array, dtype: RawFloatDtype, rows: number, K: number, codebook: Float32Array = NF4_CODEBOOK): Q4Host {
  return quantizeQ4(toFloat32(dtype, bytes), rows, K, codebook);
}

/** dst codes u32[N · K/8], scales u16[N · S] with q's rows copied to rows [row0, row0 + q.N) (in place) */
export function placeRowsQ4(dst: { codes: Uint32Array; scales: Uint16Array }, q: Q4Host, row0: number): void {
  const wpr = q.K / 8;
  const ss = scaleStride(q.K);
  dst.codes.set(q.codes, row0 * wpr);
  dst.scales.set(q.scales, row0 * ss);
}
