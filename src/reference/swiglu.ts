// Naive CPU SwiGLU and its backward (references of shaders/swiglu*.wgsl), in f64. Never optimised.
// gu [T, 2I] is the fused gate|up projection: gate = columns [0, I), up = columns [I, 2I).

function sigmoid(g: number): number {
  return 1 / (1 + Math.exp(-g));
}

/** gu [T, 2I] → h [T, I];  h = silu(gate) · up, silu(g) = g · σ(g) */
export function swigluRef(gu: Float32Array, T: number, I: number): Float32Array {
  const h = new Float32Array(T * I);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < I; i++) {
      const g = gu[t * 2 * I + i];
      const u = gu[t * 2 * I + I + i];
      h[t * I + i] = g * sigmoid(g) * u;
    }
  }
  return h;
}

/** gu [T, 2I], dh [T, I] → dgu [T, 2I];  dgate = dh · up · silu'(gate), dup = dh · silu(gate) */
export function swigluBackwardRef(gu: Float32Array, dh: Float32Array, T: number, I: number): Float32Array {
  const dgu = new Float32Array(T * 2 * I);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < I; i++) {
      const g = gu[t * 2 * I + i];
      const u = gu[t * 2 * I + I + i];
      const s = sigmoid(g);
      const dsilu = s + g * s * (1 - s); // d/dg (g · σ(g))
      dgu[t * 2 * I + i] = dh[t * I + i] * u * dsilu;
      dgu[t * 2 * I + I + i] = dh[t * I + i] * g * s;
    }
  }
  return dgu;
}
