// Naive CPU sampling with Hugging Face's warpers (reference of shaders/sample.wgsl and sample_fast.wgsl): temperature,
// then top-k (ties at the k-th value kept), top-p (sorted cumulative mass, as TopPLogitsWarper),
// min-p; then Gumbel-max with the same counter-based noise as the kernel. Sorting, not bisection,
// so a bug in the kernel's threshold search cannot hide behind a shared one.

export interface SampleRefParams { temperature: number; topK: number; topP: number; minP: number; seed: number }

const u32 = (x: number) => x >>> 0;

export function pcg(v: number): number {
  const s = u32(Math.imul(u32(v), 747796405) + 2891336453);
  const w = u32(Math.imul(u32((s >>> ((s >>> 28) + 4)) ^ s), 277803737));
  return u32((w >>> 22) ^ w);
}

export function uniform01(seed: number, seq: number, step: number, v: number): number {
  const h = pcg(u32(seed ^ pcg(u32(seq ^ pcg(u32(step ^ pcg(v)))))));
  return ((h >>> 8) + 0.5) / 16777216;
}

/** The set of kept vocabulary ids after top-k, top-p and min-p, by sorting. */
export function keptTokens(z: Float32Array, p: SampleRefParams): Set<number> {
  const V = z.length;
  const order = Array.from(z.keys()).sort((a, b) => z[b] - z[a] || a - b);
  let keep = new Set(order);
  if (p.topK > 0 && p.topK < V) {
    const kth = z[order[p.topK - 1]];
    keep = new Set(order.filter((v) => z[v] >= kth));
  }
  if (p.topP < 1) {
    const kept = order.filter((v) => keep.has(v));
    const zmax = z[kept[0]];
    const w = kept.map((v) => Math.exp(z[v] - zmax));
    const total = w.reduce((a, b) => a + b, 0);
    // ascending cumulative mass; drop while cum ≤ 1 − top_p (keep at least the top token)
    const asc = kept.slice().reverse();
    const wAsc = w.slice().reverse();
    let cum = 0;
    const drop = new Set<number>();
    for (let i = 0; i < asc.length - 1; i++) {
      cum += wAsc[i] / total;
      if (cum <= 1 - p.topP) drop.add(asc[i]);
    }
    // ties with a kept value stay (the kernel keeps every z ≥ its threshold)
    const minKept = Math.min(...kept.filter((v) => !drop.has(v)).map((v) => z[v]));
    keep = new Set(kept.filter((v) => z[v] >= minKept));
  }
  if (p.minP > 0) {
    const zmax = Math.max(...Array.from(keep, (v) => z[v]));
    const cut = Math.fround(zmax + Math.log(p.minP));
    keep = new Set(Array.from(keep).filter((v) => z[v] >= cut));
  }
  return keep;
}

/** logits [V] of one row → {token, logp} at (seq, step) */
export function sampleRef(logits: Float32Array, p: SampleRefParams, seq: number, step: number): { token: number; logp: number } {
  const greedy = p.temperature <= 0;
  const invT = greedy ? 1 : Math.fround(1 / p.temperature);
  const z = logits.map((l) => Math.fround(l * invT));
  let zmax = -Infinity;
  for (const v of z) zmax = Math.max(zmax, v);
  let se = 0;
  for (const v of z) se += Math.exp(v - zmax);
  const lse = zmax + Math.log(se);
  let token = 0;
  if (greedy) {
    for (let v = 1; v < z.length; v++) if (z[v] > z[token]) token = v;
  } else {
    const keep = keptTokens(z, p);
    let best = -Infinity;
    for (const v of Array.from(keep).sort((a, b) => a - b)) {
      const g = z[v] - Math.log(-Math.log(uniform01(p.seed, seq, step, v)));
      if (g > best) { best = g; token = v; }
    }
  }
  return { token, logp: z[token] - lse };
}
