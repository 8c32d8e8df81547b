// Naive CPU causal GQA attention over a KV cache (reference of shaders/attention.wgsl), in f64.

/**
 * qkv [T, (H+2K)·D] (q heads used), kc/vc [B, L, K, D], slot/pos [T]
 * → out [T, H·D], lse [T, H];  out[t,h] = Σ_{p ≤ pos[t]} softmax(q·k_p/√D) v_p
 */
export function attentionRef(qkv: Float32Array, kc: Float32Array, vc: Float32Array, slot: Int32Array, pos: Int32Array, T: number, H: number, K: number, D: number, L: number): { out: Float32Array; lse: Float32Array } {
  const out = new Float32Array(T * H * D);
  const lse = new Float32Array(T * H);
  const row = (H + 2 * K) * D;
  const scale = 1 / Math.sqrt(D);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / K));
      const n = pos[t] + 1;
      const s = new Float64Array(n);
      let mx = -Infinity;
      for (let p = 0; p < n; p++) {
        const kb = ((slot[t] * L + p) * K + g) * D;
        let dot = 0;
        for (let d = 0; d < D; d++) dot += qkv[t * row + h * D + d] * kc[kb + d];
        s[p] = dot * scale;
        mx = Math.max(mx, s[p]);
      }
      let sum = 0;
      for (let p = 0; p < n; p++) sum += Math.exp(s[p] - mx);
      lse[t * H + h] = mx + Math.log(sum);
      for (let d = 0; d < D; d++) {
        let a = 0;
        for (let p = 0; p < n; p++) a += (Math.exp(s[p] - mx) / sum) * vc[((slot[t] * L + p) * K + g) * D + d];
        out[(t * H + h) * D + d] = a;
      }
    }
  }
  return { out, lse };
}
