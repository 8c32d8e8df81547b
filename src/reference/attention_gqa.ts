// Naive CPU split-KV GQA attention (reference of shaders/attention_gqa{,_combine}.wgsl), in
// f64: per-chunk softmax partials (m, l, acc) for each (token, kv head, chunk, query head of the
// group), then their merge. Equal to attentionRef (reference/attention.ts) for any split.
import type { GqaSplit } from '../kernels/attention_gqa';

export interface GqaPartial { m: number; l: number; acc: Float64Array }

/** partial[t][h][s] for the chunks s < ⌈(pos[t]+1)/CH⌉ that hold keys of token t. */
export function attentionGqaPartialsRef(qkv: Float32Array, kc: Float32Array, vc: Float32Array, slot: Int32Array, pos: Int32Array, T: number, H: number, K: number, D: number, L: number, split: GqaSplit): GqaPartial[][][] {
  const row = (H + 2 * K) * D;
  const scale = 1 / Math.sqrt(D);
  const G = H / K;
  const parts: GqaPartial[][][] = [];
  for (let t = 0; t < T; t++) {
    const len = pos[t] + 1;
    parts.push([]);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / G);
      const chunks: GqaPartial[] = [];
      for (let k0 = 0; k0 < len; k0 += split.CH) {
        const k1 = Math.min(k0 + split.CH, len);
        const sc: number[] = [];
        for (let p = k0; p < k1; p++) {
          const kb = ((slot[t] * L + p) * K + g) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[t * row + h * D + d] * scale * kc[kb + d];
          sc.push(dot);
        }
        const m = Math.max(...sc);
        const acc = new Float64Array(D);
        let l = 0;
        sc.forEach((v, j) => {
          const e = Math.exp(v - m);
          l += e;
          const vb = ((slot[t] * L + k0 + j) * K + g) * D;
          for (let d = 0; d < D; d++) acc[d] += e * vc[vb + d];
        });
        chunks.push({ m, l, acc });
      }
      parts[t].push(chunks);
    }
  }
  return parts;
}

/** The merge: out [T, H·D], lse [T, H]. */
export function attentionGqaCombineRef(parts: GqaPartial[][][], T: number, H: number, D: number): { out: Float32Array; lse: Float32Array } {
  const out = new Float32Array(T * H * D);
  const lse = new Float32Array(T * H);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const chunks = parts[t][h];
      const M = Math.max(...chunks.map((c) => c.m));
      let den = 0;
      const num = new Float64Array(D);
      for (const c of chunks) {
        const w = Math.exp(c.m - M);
        den += w * c.l;
        for (let d = 0; d < D; d++) num[d] += w * c.acc[d];
      }
      for (let d = 0; d < D; d++) out[(t * H + h) * D + d] = num[d] / den;
      lse[t * H + h] = M + Math.log(den);
    }
  }
  return { out, lse };
}
