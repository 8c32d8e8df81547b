// Naive CPU references of the GPU optimizer kernels (shaders/grad_norm.wgsl, shaders/adamw.wgsl), in
// f64, built on src/reference/adamw.ts (torch clip_grad_norm_ + AdamW semantics): the global norm
// with its clip scale, and one AdamW update of one buffer whose gradient is first multiplied by a scale.
import { adamwStep, globalNorm, type AdamWHyper } from './adamw';

type Floats = ArrayLike<number>;

/** tensors [n_k] → [Σ x², norm, clip scale = min(1, maxNorm / (norm + 1e-6)), or 1 when maxNorm ≤ 0] */
export function gradNormRef(tensors: readonly Floats[], maxNorm: number): { sumSq: number; norm: number; scale: number } {
  const norm = globalNorm(tensors);
  return { sumSq: norm * norm, norm, scale: maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1 };
}

/**
 * p, g, m, v [n], step t ≥ 1 of this update → new p, m, v [n]: AdamW on g · gradScale
 * (the moments m, v are those after step t − 1).
 */
export function adamwUpdateRef(
  p: Floats, g: Floats, m: Floats, v: Floats,
  h: AdamWHyper & { step: number; gradScale: number },
): { p: Float64Array; m: Float64Array; v: Float64Array } {
  const gs = Float64Array.from(g, (x) => x * h.gradScale);
  const out = adamwStep([p], [gs], { step: h.step - 1, m: [Float64Array.from(m)], v: [Float64Array.from(v)] }, h);
  return { p: out.params[0], m: out.state.m[0], v: out.state.v[0] };
}
