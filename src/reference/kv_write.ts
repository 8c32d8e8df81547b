// Naive CPU KV-cache write (reference of shaders/kv_write.wgsl).

/** qkv [T, (H+2K)·D]; writes kc, vc [B, L, K, D] in place at (slot[t], pos[t]) */
export function kvWriteRef(qkv: Float32Array, slot: Int32Array, pos: Int32Array, kc: Float32Array, vc: Float32Array, T: number, H: number, K: number, D: number, L: number): void {
  const row = (H + 2 * K) * D;
  for (let t = 0; t < T; t++) {
    const dst = (slot[t] * L + pos[t]) * K * D;
    for (let i = 0; i < K * D; i++) {
      kc[dst + i] = qkv[t * row + H * D + i];
      vc[dst + i] = qkv[t * row + (H + K) * D + i];
    }
  }
}
