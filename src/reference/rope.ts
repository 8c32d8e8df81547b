// Naive CPU rotary embedding (rotate_half / NeoX layout, as HF Qwen2) and its backward: the
// references of the rotation in shaders/rope_kv.wgsl and of shaders/rope_backward.wgsl. cos/sin
// follow HF's float32 steps exactly; the rotation itself is done in f64. Never optimised.

/**
 * HF Qwen2RotaryEmbedding, step by step in float32 (Math.fround after every torch op):
 *   inv_freq[i] = 1 / theta^(f32(2i) / D)   (torch: arange(0, D, 2).float() / D, pow, reciprocal in f32)
 *   freq[p, i]  = f32(p) · inv_freq[i]       (the f32 matmul of inv_freq and position ids)
 *   cos, sin [P, D/2] = cos/sin(freq) rounded to f32 (HF repeats them for both halves: cat(freqs, freqs))
 */
export function ropeCosSinRef(theta: number, D: number, P: number): { cos: Float32Array; sin: Float32Array } {
  const half = D / 2;
  const cos = new Float32Array(P * half);
  const sin = new Float32Array(P * half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / D);
    const invFreq = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
    for (let p = 0; p < P; p++) {
      const freq = Math.fround(p * invFreq);
      cos[p * half + i] = Math.cos(freq);
      sin[p * half + i] = Math.sin(freq);
    }
  }
  return { cos, sin };
}

export interface RopeShape {
  /** q heads */
  H: number;
  /** k (and v) heads */
  K: number;
  /** head dim (even) */
  D: number;
  theta: number;
  /** row stride of qkv; (H + 2K)·D when absent */
  ld?: number;
}

/**
 * qkv [T, ld] (q heads, then k heads, then v heads, D each), pos i32[T] → a copy with every q and k
 * head rotated: y[i] = x[i]·cos − x[i + D/2]·sin, y[i + D/2] = x[i + D/2]·cos + x[i]·sin (i < D/2).
 */
export function ropeRef(qkv: Float32Array, pos: Int32Array, T: number, s: RopeShape): Float32Array {
  return rotate(qkv, pos, T, s, 1);
}

/** The transpose rotation (angle −θ) on a gradient dqkv [T, ld]: dx = R(θ)ᵀ · dy for q and k heads; v untouched. */
export function ropeBackwardRef(dqkv: Float32Array, pos: Int32Array, T: number, s: RopeShape): Float32Array {
  return rotate(dqkv, pos, T, s, -1);
}

function rotate(src: Float32Array, pos: Int32Array, T: number, s: RopeShape, sign: 1 | -1): Float32Array {
  const { H, K, D } = s;
  const ld = s.ld ?? (H + 2 * K) * D;
  const half = D / 2;
  let maxPos = 0;
  for (let t = 0; t < T; t++) maxPos = Math.max(maxPos, pos[t]);
  const { cos, sin } = ropeCosSinRef(s.theta, D, maxPos + 1);
  const out = Float32Array.from(src);
  for (let t = 0; t < T; t++) {
    const p = pos[t];
    if (p < 0) throw new Error(`ropeRef: pos[${t}] = ${p} is negative`);
    for (let h = 0; h < H + K; h++) {
      const base = t * ld + h * D;
      for (let i = 0; i < half; i++) {
        const c = cos[p * half + i];
        const sn = sign * sin[p * half + i];
        const x1 = src[base + i];
        const x2 = src[base + half + i];
        out[base + i] = x1 * c - x2 * sn;
        out[base + half + i] = x2 * c + x1 * sn;
      }
    }
  }
  return out;
}
