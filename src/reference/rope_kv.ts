// Naive CPU RoPE + KV-cache write (reference of shaders/rope_kv.wgsl): ropeRef on the q and k
// heads, then the rotated k heads and the v heads copied into the cache at (slot[t] + c, pos[t]) for
// c < fan[t] (default 1); kvWriteRef is that write alone (the cache the attention kernels read,
// built from rows already rotated).
import { ropeRef } from './rope';

/** qkv [T, (H+2K)·D] → the rotated copy; kc, vc [B, L, K, D] written in place */
export function ropeKvRef(qkv: Float32Array, slot: Int32Array, pos: Int32Array, kc: Float32Array, vc: Float32Array, s: { T: number; H: number; K: number; D: number; L: number; theta: number }, fan?: Int32Array): Float32Array {
  const out = ropeRef(qkv, pos, s.T, { H: s.H, K: s.K, D: s.D, theta: s.theta });
  kvWriteRef(out, slot, pos, kc, vc, s, fan);
  return out;
}

/** The cache write alone: each row's k and v heads of qkv [T, (H+2K)·D] (as they are) into kc, vc [B, L, K, D] at (slot[t] + c, pos[t]) for c < fan[t] (default 1) */
export function kvWriteRef(qkv: Float32Array, slot: Int32Array, pos: Int32Array, kc: Float32Array, vc: Float32Array, s: { T: number; H: number; K: number; D: number; L: number }, fan?: Int32Array): void {
  const { T, H, K, D, L } = s;
  const row = (H + 2 * K) * D;
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < (fan ? fan[t] : 1); c++) {
      const dst = ((slot[t] + c) * L + pos[t]) * K * D;
      kc.set(qkv.subarray(t * row + H * D, t * row + (H + K) * D), dst);
      vc.set(qkv.subarray(t * row + (H + K) * D, t * row + (H + 2 * K) * D), dst);
    }
  }
}
