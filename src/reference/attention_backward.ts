// Naive CPU backward of causal GQA attention over a KV cache (reference of
// shaders/attention_backward_{dq,dkv}.wgsl), in f64, for ANY slot/pos layout: dk/dv are summed per
// cache position, then handed to the token whose k/v sits there (the inverse of rope_kv's cache write:
// with fan, a token's k/v sit in fan[t] slots, and it gets the sum of theirs).

/**
 * qkv [T, (H+2K)·D] (q heads used), kc/vc [B, L, K, D], slot/pos [T], out [T, H·D], lse [T, H],
 * dout [T, H·D] → dqkv [T, (H+2K)·D]: dq | dk | dv of each token. A cache position no token of this
 * call wrote loses its gradient (it belongs to an earlier call).
 *   P = exp(q·k/√D − lse), Δ = Σ dout·out, dS = P·(dout·v − Δ);  dq = Σ dS·k/√D, dk = Σ dS·q/√D, dv = Σ P·dout
 */
export function attentionBackwardRef(
  qkv: Float32Array, kc: Float32Array, vc: Float32Array, slot: Int32Array, pos: Int32Array,
  out: Float32Array, lse: Float32Array, dout: Float32Array,
  T: number, H: number, K: number, D: number, L: number, fan?: Int32Array,
): Float32Array {
  const row = (H + 2 * K) * D;
  const scale = 1 / Math.sqrt(D);
  const B = kc.length / (L * K * D);
  const dK = new Float64Array(B * L * K * D); // gradient per cache entry
  const dV = new Float64Array(B * L * K * D);
  const dqkv = new Float32Array(T * row);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / K));
      const q = t * row + h * D;
      const o = (t * H + h) * D;
      let delta = 0;
      for (let d = 0; d < D; d++) delta += dout[o + d] * out[o + d];
      const dq = new Float64Array(D);
      for (let p = 0; p <= pos[t]; p++) {
        const kb = ((slot[t] * L + p) * K + g) * D;
        let s = 0;
        let dp = 0;
        for (let d = 0; d < D; d++) {
          s += qkv[q + d] * kc[kb + d];
          dp += dout[o + d] * vc[kb + d];
        }
        const P = Math.exp(s * scale - lse[t * H + h]);
        const dS = P * (dp - delta);
        for (let d = 0; d < D; d++) {
          dq[d] += dS * kc[kb + d] * scale;
          dK[kb + d] += dS * qkv[q + d] * scale;
          dV[kb + d] += P * dout[o + d];
        }
      }
      for (let d = 0; d < D; d++) dqkv[q + d] = dq[d];
    }
  }
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < (fan ? fan[t] : 1); c++) {
      for (let g = 0; g < K; g++) {
        const kb = (((slot[t] + c) * L + pos[t]) * K + g) * D;
        for (let d = 0; d < D; d++) {
          dqkv[t * row + (H + g) * D + d] += dK[kb + d];
          dqkv[t * row + (H + K + g) * D + d] += dV[kb + d];
        }
      }
    }
  }
  return dqkv;
}
