// Naive CPU Qwen2 forward with LoRA (the engine's whole-model reference): f32 weights as the GPU
// holds them (dequantized), activations in f64 where it is cheap. Used on tiny models only.
// Follows Hugging Face's Qwen2: RMSNorm in f32 semantics, rotate_half RoPE with HF's float32
// angles, causal GQA attention, SwiGLU MLP, tied or separate LM head.
import { ropeTableHost } from '../kernels/rope';

export interface RefLinear {
  /** W [N, K] */
  w: Float32Array;
  N: number;
  K: number;
  bias?: Float32Array;
  /** LoRA: A [R, K], B [N, R], scale */
  lora?: { A: Float32Array; B: Float32Array; R: number; scale: number };
}

export interface RefLayer {
  inputNorm: Float32Array;
  q: RefLinear;
  k: RefLinear;
  v: RefLinear;
  o: RefLinear;
  postNorm: Float32Array;
  gate: RefLinear;
  up: RefLinear;
  down: RefLinear;
}

export interface RefModel {
  C: number;
  I: number;
  H: number;
  K: number;
  D: number;
  V: number;
  eps: number;
  theta: number;
  /** E [V, C] */
  embed: Float32Array;
  /** [V, C] (the embedding when tied) */
  lmHead: Float32Array;
  layers: RefLayer[];
  finalNorm: Float32Array;
}

function linear(x: Float64Array, T: number, l: RefLinear): Float64Array {
  const y = new Float64Array(T * l.N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < l.N; n++) {
      let s = l.bias ? l.bias[n] : 0;
      for (let k = 0; k < l.K; k++) s += x[t * l.K + k] * l.w[n * l.K + k];
      y[t * l.N + n] = s;
    }
    if (l.lora) {
      const { A, B, R, scale } = l.lora;
      const u = new Float64Array(R);
      for (let r = 0; r < R; r++) for (let k = 0; k < l.K; k++) u[r] += x[t * l.K + k] * A[r * l.K + k];
      for (let n = 0; n < l.N; n++) {
        let s = 0;
        for (let r = 0; r < R; r++) s += u[r] * B[n * R + r];
        y[t * l.N + n] += scale * s;
      }
    }
  }
  return y;
}

function rmsnorm(x: Float64Array, T: number, C: number, w: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[t * C + c] ** 2;
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x[t * C + c] * inv * w[c];
  }
  return y;
}

function rope(x: Float64Array, T: number, heads: number, D: number, table: Float32Array): void {
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const b = (t * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const cos = table[2 * (t * half + i)];
        const sin = table[2 * (t * half + i) + 1];
        const a = x[b + i];
        const c = x[b + i + half];
        x[b + i] = a * cos - c * sin;
        x[b + i + half] = c * cos + a * sin;
      }
    }
  }
}

/** Logits [T, V] of one sequence of token ids at positions 0..T−1. */
export function qwen2ForwardRef(m: RefModel, ids: number[]): Float32Array {
  const T = ids.length;
  const { C, H, K, D } = m;
  const table = ropeTableHost(m.theta, D, T);
  let x = new Float64Array(T * C);
  ids.forEach((id, t) => { for (let c = 0; c < C; c++) x[t * C + c] = m.embed[id * C + c]; });
  for (const L of m.layers) {
    const xn = rmsnorm(x, T, C, L.inputNorm, m.eps);
    const q = linear(xn, T, L.q);
    const k = linear(xn, T, L.k);
    const v = linear(xn, T, L.v);
    rope(q, T, H, D, table);
    rope(k, T, K, D, table);
    const att = new Float64Array(T * H * D);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) {
        const g = Math.floor(h / (H / K));
        const s = new Float64Array(t + 1);
        let mx = -Infinity;
        for (let p = 0; p <= t; p++) {
          let d = 0;
          for (let i = 0; i < D; i++) d += q[(t * H + h) * D + i] * k[(p * K + g) * D + i];
          s[p] = d / Math.sqrt(D);
          mx = Math.max(mx, s[p]);
        }
        let sum = 0;
        for (let p = 0; p <= t; p++) { s[p] = Math.exp(s[p] - mx); sum += s[p]; }
        for (let i = 0; i < D; i++) {
          let a = 0;
          for (let p = 0; p <= t; p++) a += s[p] * v[(p * K + g) * D + i];
          att[(t * H + h) * D + i] = a / sum;
        }
      }
    }
    const o = linear(att, T, L.o);
    for (let i = 0; i < x.length; i++) x[i] += o[i];
    const xn2 = rmsnorm(x, T, C, L.postNorm, m.eps);
    const gate = linear(xn2, T, L.gate);
    const up = linear(xn2, T, L.up);
    const hdn = new Float64Array(T * m.I);
    for (let i = 0; i < hdn.length; i++) hdn[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
    const down = linear(hdn, T, L.down);
    x = x.map((v0, i) => v0 + down[i]);
  }
  const xf = rmsnorm(x, T, C, m.finalNorm, m.eps);
  const logits = new Float32Array(T * m.V);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < m.V; v++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += xf[t * C + c] * m.lmHead[v * C + c];
      logits[t * m.V + v] = s;
    }
  }
  return logits;
}
