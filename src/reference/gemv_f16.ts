// Naive CPU model of the decode GEMV that reads f16 x and sums its products in f16
// (src/kernels/gemv_body.ts BodyOpts.x16): the same rounding the GPU does, so a GPU result can be
// checked against it tightly (bench-check --only f16) and the f16 walk's error against the exact
// product measured on the CPU. Per row m of x and row n of W, lane l of `lanes` walks 8-weight steps
// j = l, l + lanes, …, each of its 4 f16 sums h[c] taking h[c] = f16(x16 · w16 + h[c]) (a fused
// multiply-add: one rounding) for weight 8j + c, then 8j + 4 + c; after the walk the lane adds
// f32(h[0]) + … + f32(h[3]) in f32, and the lanes' sums are added (here in f64: the GPU's tree order
// differs only in f32 rounding). x16 = f16(x), w16 = f16(w) of the dequantized weight. Then the
// epilogue as matmulRef's: + y_in + bias + LoRA.
import { f32ToF16Bits } from '../formats/q4';
import { f16ToF32 } from '../formats/safetensors';
import { loraTermRef, type LoraRef } from './matmul';

/** v rounded to the nearest f16 (through f32: a double rounding only at exact f32 ties); the plain form of roundF16 */
export function roundF16Exact(v: number): number {
  return f16ToF32(f32ToF16Bits(v));
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** roundF16Exact, fast: f32's mantissa rounded to f16's 10 bits (nearest, ties to even) in the normal range; the rest the plain way */
export function roundF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const e = (x >>> 23) & 0xff;
  if (e < 113 || e > 141) return roundF16Exact(v); // below 2⁻¹⁴ (f16 subnormal), 2¹⁵ and above (near overflow), inf/NaN
  u32[0] = (x + 0xfff + ((x >>> 13) & 1)) & ~0x1fff;
  return f32[0];
}

export interface GemvF16RefOpts {
  /** lanes a row (the GEMV's LANES) */
  lanes: number;
  bias?: Float32Array;
  yIn?: Float32Array;
  lora?: LoraRef;
}

/** x [M, K] f32, w [N, K] dequantized f32 → y [M, N] as the f16 GEMV computes it */
export function gemvF16Ref(x: Float32Array, w: Float32Array, M: number, N: number, K: number, o: GemvF16RefOpts): Float32Array {
  const { lanes, bias, yIn, lora } = o;
  const width = 8;
  if (K % width) throw new Error(`gemvF16Ref: K = ${K} must be a multiple of the step (${width})`);
  const steps = K / width;
  const x16 = x.map(roundF16);
  const w16 = w.map(roundF16);
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let total = 0;
      for (let l = 0; l < lanes; l++) {
        const h = [0, 0, 0, 0];
        for (let j = l; j < steps; j += lanes) {
          for (let c = 0; c < width; c++) {
            const k = width * j + c;
            h[c % 4] = roundF16(x16[m * K + k] * w16[n * K + k] + h[c % 4]);
          }
        }
        total += Math.fround(Math.fround(Math.fround(h[0] + h[1]) + h[2]) + h[3]);
      }
      y[m * N + n] = (yIn ? yIn[m * N + n] : 0) + (bias ? bias[n] : 0) + total + (lora ? loraTermRef(lora, m, n, N) : 0);
    }
  }
  return y;
}
