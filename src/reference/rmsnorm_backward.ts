// Naive CPU RMSNorm backward w.r.t. x (the reference of shaders/rmsnorm_backward.wgsl): the full
// Jacobian of y = x · rsqrt(mean(x²) + eps) · w applied row by row, in f64. O(C²) per row on purpose.

/** x [T, C], w [C], dy [T, C], dxIn [T, C] (added when given) → dx [T, C] */
export function rmsnormBackwardRef(x: Float32Array, w: Float32Array, dy: Float32Array, T: number, C: number, eps: number, dxIn?: Float32Array): Float32Array {
  const dx = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] * x[t * C + c];
    const r = 1 / Math.sqrt(ss / C + eps);
    for (let i = 0; i < C; i++) {
      // dx_i = Σ_j dy_j · ∂y_j/∂x_i,  ∂y_j/∂x_i = w_j · (δ_ij · r − x_j · x_i · r³ / C)
      let s = dxIn ? dxIn[t * C + i] : 0;
      for (let j = 0; j < C; j++) {
        const jac = w[j] * ((i === j ? r : 0) - (x[t * C + j] * x[t * C + i] * r * r * r) / C);
        s += dy[t * C + j] * jac;
      }
      dx[t * C + i] = s;
    }
  }
  return dx;
}
