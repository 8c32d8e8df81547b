// Naive CPU 4-bit matmul: dequantize W, then y = x·Wᵀ (+ bias) with f64 accumulation. Never optimised.
import { dequantizeQ4, type Q4Host } from '../formats/q4';

/** x [M, K], W q4 [N, K], bias [N] → y [M, N] */
export function matmulQ4Ref(x: Float32Array, w: Q4Host, M: number, bias?: Float32Array): Float32Array {
  return matmulRef(x, dequantizeQ4(w), M, w.N, w.K, bias);
}

/** x [M, K], W [N, K] (f32) → y [M, N];  y[m, n] = Σ_k x[m, k] W[n, k] + bias[n] */
export function matmulRef(x: Float32Array, w: Float32Array, M: number, N: number, K: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}
