// Naive CPU reference of shaders/attention_decode.wgsl (a decode step's attention in one dispatch): the
// RoPE + KV-cache write (ropeKvRef) followed by the causal attention over each token's cached keys (attentionRef).
import { attentionRef } from './attention';
import { ropeKvRef } from './rope_kv';

/** qkv [T, (H+2K)·D] (not rotated), kc, vc [B, L, K, D] (written in place: each token's k and v at (slot, pos)) → out [T, H·D], lse [T, H] */
export function attentionDecodeRef(qkv: Float32Array, slot: Int32Array, pos: Int32Array, kc: Float32Array, vc: Float32Array, s: { T: number; H: number; K: number; D: number; L: number; theta: number }): { out: Float32Array; lse: Float32Array } {
  return attentionRef(ropeKvRef(qkv, slot, pos, kc, vc, s), kc, vc, slot, pos, s.T, s.H, s.K, s.D, s.L);
}
