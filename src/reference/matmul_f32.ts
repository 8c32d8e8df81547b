// Naive CPU general f32 matmul (the reference of shaders/matmul_f32.wgsl), f64 accumulation:
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C, op = identity or transpose, with leading
//   dimensions and element offsets as the kernel takes them. Never optimised.

export interface GemmRef {
  M: number;
  N: number;
  K: number;
  /** A stored [M, lda] (transA false) or [K, lda] (transA true), from element offA */
  a: Float32Array;
  lda: number;
  offA?: number;
  transA?: boolean;
  /** B stored [K, ldb] (transB false) or [N, ldb] (transB true), from element offB */
  b: Float32Array;
  ldb: number;
  offB?: number;
  transB?: boolean;
  /** C stored [M, ldc] from element offC; read when beta ≠ 0, elements outside the M×N window kept */
  c: Float32Array;
  ldc: number;
  offC?: number;
  alpha?: number;
  beta?: number;
}

/** Returns a copy of c with its M×N window replaced by alpha · op(A)·op(B) + beta · C. */
export function matmulF32Ref(g: GemmRef): Float32Array {
  const { M, N, K, a, b, lda, ldb, ldc } = g;
  const offA = g.offA ?? 0;
  const offB = g.offB ?? 0;
  const offC = g.offC ?? 0;
  const alpha = g.alpha ?? 1;
  const beta = g.beta ?? 0;
  const out = Float32Array.from(g.c);
  const A = (m: number, k: number) => (g.transA ? a[offA + k * lda + m] : a[offA + m * lda + k]);
  const B = (k: number, n: number) => (g.transB ? b[offB + n * ldb + k] : b[offB + k * ldb + n]);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += A(m, k) * B(k, n);
      const ci = offC + m * ldc + n;
      out[ci] = alpha * s + (beta !== 0 ? beta * g.c[ci] : 0);
    }
  }
  return out;
}
