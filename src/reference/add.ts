// Naive CPU elementwise add (the reference of shaders/add.wgsl). Never optimised.

/** a [n], b [n] → y [n];  y = a + alpha · b */
export function addRef(a: Float32Array, b: Float32Array, alpha = 1): Float32Array {
  if (a.length !== b.length) throw new Error(`addRef: a has ${a.length} elements, b has ${b.length}`);
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + alpha * b[i];
  return y;
}
