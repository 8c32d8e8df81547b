// Naive CPU LM-head log-probs, entropy and backward (reference of the lm_logprob kernels), in f64
// over the full [M, V] logits — fine for the tiny shapes of tests.

/** hidden [M, C], E [V, C], targets [M] → logp, lse, entropy [M] under softmax(h·Eᵀ / T) */
export function lmLogprobRef(hidden: Float32Array, E: Float32Array, targets: Int32Array, M: number, C: number, V: number, T: number) {
  const logp = new Float32Array(M);
  const lse = new Float32Array(M);
  const entropy = new Float32Array(M);
  const probs: Float64Array[] = [];
  for (let m = 0; m < M; m++) {
    const z = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += hidden[m * C + c] * E[v * C + c];
      z[v] = s / T;
    }
    const mx = Math.max(...z);
    let sum = 0;
    for (const v of z) sum += Math.exp(v - mx);
    const l = mx + Math.log(sum);
    const p = z.map((v) => Math.exp(v - l));
    let ent = 0;
    for (let v = 0; v < V; v++) ent -= p[v] * (z[v] - l);
    lse[m] = l;
    logp[m] = z[targets[m]] - l;
    entropy[m] = ent;
    probs.push(p);
  }
  return { logp, lse, entropy, probs };
}

/** dhidden [M, C] = Σ_v dlogp[m]·(1[v = target] − p[m, v])/T · E[v, :] */
export function lmLogprobBackwardRef(probs: Float64Array[], E: Float32Array, targets: Int32Array, dlogp: Float32Array, M: number, C: number, V: number, T: number): Float32Array {
  const dh = new Float32Array(M * C);
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let v = 0; v < V; v++) s += ((v === targets[m] ? 1 : 0) - probs[m][v]) * E[v * C + c];
      dh[m * C + c] = (dlogp[m] * s) / T;
    }
  }
  return dh;
}
