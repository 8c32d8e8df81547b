// Host-side weight matrices in the three formats the matmul kernels read, with packing and
// dequantization (the CPU reference of what kernels compute with). Bytes only — no GPU.
//   q4   : see q4.ts (4-bit codes, f16 block scales, 16-entry codebook)
//   bf16 : u32[N · K/2], element 2i in the low half of word i (bf16 bit patterns; exact for bf16 checkpoints)
//   i8   : u32[N · K/4], element 4i in the lowest byte (two's complement), f32 scale per row: W = q · scale[n]
// All formats need K % 8 == 0 (kernels read 8 weights at a time).
import { checkQ4Shape, dequantizeQ4, quantizeQ4, type Q4Host } from './q4';

export type WeightFormat = 'q4' | 'bf16' | 'i8';

export type WeightHost =
  | { format: 'q4'; N: number; K: number; q: Q4Host }
  | { format: 'bf16'; N: number; K: number; bits: Uint16Array }
  | { format: 'i8'; N: number; K: number; q: Int8Array; scales: Float32Array };

/** f32 → bf16 bits, round to nearest even (as torch does). */
export function f32ToBf16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40; // NaN stays NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0];
}

export function packWeight(format: WeightFormat, w: Float32Array, N: number, K: number): WeightHost {
  checkQ4Shape(N, K);
  switch (format) {
    case 'q4':
      return { format, N, K, q: quantizeQ4(w, N, K) };
    case 'bf16': {
      const bits = new Uint16Array(N * K);
      for (let i = 0; i < bits.length; i++) bits[i] = f32ToBf16Bits(w[i]);
      return { format, N, K, bits };
    }
    case 'i8': {
      const q = new Int8Array(N * K);
      const scales = new Float32Array(N);
      for (let n = 0; n < N; n++) {
        let amax = 0;
        for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(w[n * K + k]));
        const s = amax / 127;
        scales[n] = s;
        for (let k = 0; k < K; k++) q[n * K + k] = s > 0 ? Math.round(w[n * K + k] / s) : 0;
      }
      return { format, N, K, q, scales };
    }
  }
}

/** W [N, K] as f32: exactly what the kernels multiply with. */
export function dequantizeWeight(w: WeightHost): Float32Array {
  switch (w.format) {
    case 'q4':
      return dequantizeQ4(w.q);
    case 'bf16': {
      const u = new Uint32Array(w.bits.length);
      for (let i = 0; i < u.length; i++) u[i] = w.bits[i] << 16;
      return new Float32Array(u.buffer);
    }
    case 'i8': {
      const out = new Float32Array(w.N * w.K);
      for (let i = 0; i < out.length; i++) out[i] = w.q[i] * w.scales[Math.floor(i / w.K)];
      return out;
    }
  }
}

/** Bytes per row of the packed data (codes) and of its per-row scales. */
export function rowBytes(format: WeightFormat, K: number): number {
  return format === 'q4' ? K / 2 : format === 'bf16' ? K * 2 : K;
}
