// Naive CPU matmul with the kernels' epilogue: dequantize W, then
//   y = [y_in +] x·Wᵀ + bias + scale · u_slice(n)·B[n]ᵀ   with f64 accumulation. Never optimised.
import { dequantizeWeight, type WeightHost } from '../formats/weights';

export interface LoraRef {
  /** u [M, ldu] = x·A_catᵀ */
  u: Float32Array;
  ldu: number;
  /** B [N, R] */
  B: Float32Array;
  R: number;
  scale: number;
  slice1?: number;
  slice2?: number;
}

/** x [M, K], W [N, K] (any format), bias [N], yIn [M, N] when accumulating → y [M, N] */
export function matmulWeightRef(x: Float32Array, w: WeightHost, M: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  return matmulRef(x, dequantizeWeight(w), M, w.N, w.K, opts);
}

/** x [M, K], W [N, K] f32 → y [M, N] */
export function matmulRef(x: Float32Array, w: Float32Array, M: number, N: number, K: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  const { bias, yIn, lora } = opts;
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = (yIn ? yIn[m * N + n] : 0) + (bias ? bias[n] : 0);
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s + (lora ? loraTermRef(lora, m, n, N) : 0);
    }
  }
  return y;
}

/** The LoRA term of y[m, n] (N rows of W): scale · u[m, slice(n)·R …]·B[n]ᵀ, the slices starting at slice1 and slice2. */
export function loraTermRef(lora: LoraRef, m: number, n: number, N: number): number {
  const slice = n >= (lora.slice2 ?? N) ? 2 : n >= (lora.slice1 ?? N) ? 1 : 0;
  let l = 0;
  for (let r = 0; r < lora.R; r++) l += lora.u[m * lora.ldu + slice * lora.R + r] * lora.B[n * lora.R + r];
  return lora.scale * l;
}

/** dy [M, N], W [N, K] (any format), dxIn [M, K] when accumulating → dx [M, K] = dxIn + dy·W */
export function matmulTransposedRef(dy: Float32Array, w: WeightHost, M: number, dxIn?: Float32Array): Float32Array {
  const W = dequantizeWeight(w);
  const { N, K } = w;
  const dx = new Float32Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = dxIn ? dxIn[m * K + k] : 0;
      for (let n = 0; n < N; n++) s += dy[m * N + n] * W[n * K + k];
      dx[m * K + k] = s;
    }
  }
  return dx;
}
