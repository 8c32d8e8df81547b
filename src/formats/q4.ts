// The 4-bit weight layout ("q4") shared by every 4-bit matmul kernel, on the CPU: quantize,
// dequantize, pack. One layout serves our own NF4 quantization of BF16/F16/F32 checkpoints and
// bitsandbytes NF4 checkpoints (repacked at load). Bytes only — no GPU.
//
// For a weight W [N, K] (y = x·Wᵀ; N output features, K input features, K % 8 == 0):
//   codes    u32[N · K/8]          row n, word j holds W[n, 8j .. 8j+7]; element 8j+i in bits 4i..4i+3
//   scales   f16[N · S]            one absmax scale per block of 64 consecutive k of one row, two per
//                                  u32, low half first; S = ⌈K/64⌉ rounded up to even, so every row
//                                  starts on a word (scale of (n, k) at index n·S + k/64)
//   codebook f32[16]               the value of each code (NF4 of bitsandbytes, or a linear table)
//   W[n, k] = codebook[code(n, k)] · scale(n, k / 64)
// Blocks never cross rows, so a tensor splits into row ranges without repacking codes.
import { f16ToF32 as f16BitsToF32 } from './safetensors';

export { f16BitsToF32 };

export const Q4_BLOCK = 64;

/** bitsandbytes' NF4 table (quantiles of a standard normal, normalised to [-1, 1]). */
export const NF4_CODEBOOK = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);

export interface Q4Host {
  N: number;
  K: number;
  /** u32[N · K/8] */
  codes: Uint32Array;
  /** f16 bit patterns, u16[N · scaleStride(K)] */
  scales: Uint16Array;
  /** f32[16] */
  codebook: Float32Array;
}

export function blocksPerRow(K: number): number {
  return Math.ceil(K / Q4_BLOCK);
}

/** Scales per row in the buffer: blocksPerRow rounded up to even (rows start on a u32). */
export function scaleStride(K: number): number {
  const b = blocksPerRow(K);
  return b + (b % 2);
}

export function checkQ4Shape(N: number, K: number): void {
  if (!Number.isInteger(N) || !Number.isInteger(K) || N < 1 || K < 8 || K % 8 !== 0) {
    throw new Error(`4-bit weights need N ≥ 1 and K a positive multiple of 8; got N=${N}, K=${K}`);
  }
}

/** Quantizes W [N, K] (row-major f32) to q4 with absmax scales (rounded to f16) and nearest codes. */
export function quantizeQ4(w: Float32Array, N: number, K: number, codebook: Float32Array = NF4_CODEBOOK): Q4Host {
  checkQ4Shape(N, K);
  const bpr = blocksPerRow(K);
  const ss = scaleStride(K);
  const codes = new Uint32Array((N * K) / 8);
  const scales = new Uint16Array(N * ss);
  const sorted = sortedCodebook(codebook);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < bpr; b++) {
      const k0 = b * Q4_BLOCK;
      const k1 = Math.min(K, k0 + Q4_BLOCK);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(w[n * K + k]));
      const sBits = f32ToF16Bits(amax);
      scales[n * ss + b] = sBits;
      const s = f16BitsToF32(sBits);
      const inv = s > 0 ? 1 / s : 0;
      for (let k = k0; k < k1; k++) {
        const code = nearestCode(w[n * K + k] * inv, sorted);
        const idx = n * K + k;
        codes[idx >>> 3] |= code << (4 * (idx & 7));
      }
    }
  }
  return { N, K, codes, scales, codebook: Float32Array.from(codebook) };
}

/** W [N, K] as f32 from q4 (what every kernel must compute with). */
export function dequantizeQ4(q: Q4Host): Float32Array {
  const { N, K } = q;
  const ss = scaleStride(K);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const idx = n * K + k;
      const code = (q.codes[idx >>> 3] >>> (4 * (idx & 7))) & 15;
      out[idx] = q.codebook[code] * f16BitsToF32(q.scales[n * ss + (k >> 6)]);
    }
  }
  return out;
}

/** Rows [n0, n1) of a q4 tensor as a tensor of its own (for splitting over binding limits). */
export function sliceRowsQ4(q: Q4Host, n0: number, n1: number): Q4Host {
  const wpr = q.K / 8;
  const ss = scaleStride(q.K);
  return { N: n1 - n0, K: q.K, codes: q.codes.slice(n0 * wpr, n1 * wpr), scales: q.scales.slice(n0 * ss, n1 * ss), codebook: q.codebook };
}

interface SortedCodebook { values: number[]; codes: number[] }

function sortedCodebook(cb: Float32Array): SortedCodebook {
  const order = Array.from(cb.keys()).sort((a, b) => cb[a] - cb[b]);
  return { values: order.map((i) => cb[i]), codes: order };
}

function nearestCode(v: number, s: SortedCodebook): number {
  let best = 0;
  let bestD = Infinity;
  for (let i = 0; i < s.values.length; i++) {
    const d = Math.abs(v - s.values[i]);
    if (d < bestD) { bestD = d; best = i; }
  }
  return s.codes[best];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Round-to-nearest-even f32 → f16 bits (overflow → ±inf; subnormals kept). */
export function f32ToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
