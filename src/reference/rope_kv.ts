// Naive CPU RoPE + KV-cache write (reference of shaders/rope_kv.wgsl): ropeRef on the q and k
// heads, then the rotated k heads and the v heads copied into the cache at (slot[t] + c, pos[t]) for
// c < fan[t] (default 1).
import { ropeRef } from './rope';

/** qkv [T, (H+2K)·D] → the rotated copy; kc, vc [B, L, K, D] written in place */
export function ropeKvRef(qkv: Float32Array, slot: Int32Array, pos: Int32Array, kc: Float32Array, vc: Float32Array, s: { T: number; H: number; K: number; D: number; L: number; theta: number }, fan?: Int32Array): Float32Array {
  const { T, H, K, D, L } = s;
  const out = ropeRef(qkv, pos, T, { H, K, D, theta: s.theta });
  const row = (H + 2 * K) * D;
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < (fan ? fan[t] : 1); c++) {
      const dst = ((slot[t] + c) * L + pos[t]) * K * D;
      for (let i = 0; i < K * D; i++) {
        kc[dst + i] = out[t * row + H * D + i];
        vc[dst + i] = out[t * row + (H + K) * D + i];
      }
    }
  }
  return out;
}
