// Naive CPU reference of the random-fill kernel (shaders/random_fill.wgsl): the same counter-based
// hash and the same integer/f32 steps, so the GPU's words match bit for bit. Never optimised.
import { f32ToF16Bits } from '../formats/q4';
import { f32ToBf16Bits } from '../formats/weights';

export type RandomFill =
  | { kind: 'bits' }
  /** f16 bit patterns uniform over [f16(lo), f16(hi)) — for q4 block scales */
  | { kind: 'f16-range'; lo: number; hi: number }
  /** bf16 ≈ N(0, std²) */
  | { kind: 'bf16-normal'; std: number };

export function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** the f32 multiplier of the centred Irwin–Hall sum for a standard deviation */
export function normalScale(std: number): number {
  return Math.fround((std * Math.sqrt(3)) / 2 ** 22);
}

/** f16 bit range [lo, hi) of a scale range */
export function f16Range(lo: number, hi: number): [number, number] {
  const a = f32ToF16Bits(lo);
  const b = f32ToF16Bits(hi);
  if (!(lo > 0 && b > a && b < 0x7c00)) throw new Error(`f16 range needs 0 < lo < hi ≤ 65504, got [${lo}, ${hi})`);
  return [a, b];
}

function normalBf16(base: number, k0: number, scale: number): number {
  let s = 0;
  for (let k = k0; k < k0 + 4; k++) s += lowbias32(base + Math.imul(k, 0x9e3779b9)) >>> 10;
  return f32ToBf16Bits(Math.fround((s - 8388608) * scale));
}

/** words [0, n) of what the kernel writes at [offset, offset + n) */
export function randomFillRef(n: number, fill: RandomFill, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  const seedHash = lowbias32(seed);
  const scale = fill.kind === 'bf16-normal' ? normalScale(fill.std) : 0;
  const [lo, hi] = fill.kind === 'f16-range' ? f16Range(fill.lo, fill.hi) : [0, 1];
  for (let i = 0; i < n; i++) {
    const base = lowbias32(i + seedHash);
    if (fill.kind === 'bits') out[i] = lowbias32(base);
    else if (fill.kind === 'f16-range') {
      out[i] = (lo + (lowbias32(base) % (hi - lo))) | ((lo + (lowbias32(base + 0x9e3779b9) % (hi - lo))) << 16);
    } else out[i] = normalBf16(base, 0, scale) | (normalBf16(base, 4, scale) << 16);
  }
  return out;
}
