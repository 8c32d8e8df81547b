// Naive CPU RMSNorm (the reference the kernel is checked against). Never optimised.

/** x [T, C] → each row's 1/sqrt(mean_c x² + eps), accumulated in f64 */
export function rmsInvRef(x: Float32Array, T: number, C: number, eps: number): number[] {
  return Array.from({ length: T }, (_, t) => {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] * x[t * C + c];
    return 1 / Math.sqrt(ss / C + eps);
  });
}

/** x [T, C], w [C] → y [T, C];  y = x · 1/sqrt(mean_c x² + eps) · w, accumulated in f64 */
export function rmsnormRef(x: Float32Array, w: Float32Array, T: number, C: number, eps: number): Float32Array {
  const y = new Float32Array(T * C);
  const inv = rmsInvRef(x, T, C, eps);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * inv[t] * w[c];
  }
  return y;
}
