// Naive CPU RMSNorm (the reference the kernel is checked against). Never optimised.

/** x [T, C], w [C] → y [T, C];  y = x · 1/sqrt(mean_c x² + eps) · w, accumulated in f64 */
export function rmsnormRef(x: Float32Array, w: Float32Array, T: number, C: number, eps: number): Float32Array {
  const y = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] * x[t * C + c];
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * inv * w[c];
  }
  return y;
}
