// Naive CPU reference of the optimizer step the trainer takes after each accumulated batch, in float64:
// global grad-norm clipping (torch.nn.utils.clip_grad_norm_) then AdamW (torch.optim.AdamW, decoupled
// weight decay, bias-corrected moments). The GPU AdamW kernel must equal this. Pure: inputs are not
// modified; new arrays come back. Each parameter tensor is flat (its shape does not matter here).

export class OptimizerError extends Error {
  override name = 'OptimizerError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

type Floats = ArrayLike<number>;

export interface ClipResult {
  /** global L2 norm over every gradient tensor, before clipping (what TRL logs as grad_norm) */
  totalNorm: number;
  /** factor the gradients were multiplied by: min(1, maxNorm / (totalNorm + 1e-6)) */
  scale: number;
  /** the clipped gradients, one per input tensor */
  grads: Float64Array[];
}

/** Global L2 norm of a list of tensors (torch: norm of the per-tensor norms — the same number). */
export function globalNorm(tensors: readonly Floats[]): number {
  let ss = 0;
  for (const t of tensors) for (let i = 0; i < t.length; i++) ss += t[i] * t[i];
  return Math.sqrt(ss);
}

/**
 * torch.nn.utils.clip_grad_norm_(grads, maxNorm): scale = maxNorm / (norm + 1e-6), clamped to ≤ 1,
 * always multiplied in (a no-op when it is 1). A non-finite norm propagates as torch does by default
 * (error_if_nonfinite = False); callers should skip the step when totalNorm is not finite.
 */
export function clipGradNorm(grads: readonly Floats[], maxNorm: number): ClipResult {
  if (!(maxNorm > 0)) {
    throw new OptimizerError(`maxNorm must be > 0; got ${maxNorm}`, 'with maxGradNorm = 0 (clipping off) do not call clipGradNorm');
  }
  const totalNorm = globalNorm(grads);
  const scale = Math.min(maxNorm / (totalNorm + 1e-6), 1);
  return { totalNorm, scale, grads: grads.map((g) => Float64Array.from(g, (v) => v * scale)) };
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface AdamWState {
  /** optimizer steps taken so far (torch's `step`); the next update uses t = step + 1 */
  step: number;
  /** first and second moments, one per parameter tensor, same lengths */
  m: Float64Array[];
  v: Float64Array[];
}

/** Zero moments for tensors of the given element counts. */
export function initAdamWState(sizes: readonly number[]): AdamWState {
  return { step: 0, m: sizes.map((n) => new Float64Array(n)), v: sizes.map((n) => new Float64Array(n)) };
}

function checkStep(params: readonly Floats[], grads: readonly Floats[], state: AdamWState, h: AdamWHyper): void {
  if (params.length !== grads.length || params.length !== state.m.length || params.length !== state.v.length) {
    throw new OptimizerError(
      `tensor counts differ: ${params.length} params, ${grads.length} grads, ${state.m.length}/${state.v.length} moments`,
      'pass parameters, gradients and state in the same order (e.g. the adapter key order)',
    );
  }
  params.forEach((p, k) => {
    if (grads[k].length !== p.length || state.m[k].length !== p.length || state.v[k].length !== p.length) {
      throw new OptimizerError(`tensor ${k}: ${p.length} params but ${grads[k].length} grads, ${state.m[k].length} moments`, 'shapes must match per tensor');
    }
  });
  const ok = h.lr >= 0 && h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1 && h.eps > 0 && h.weightDecay >= 0;
  if (!ok) {
    throw new OptimizerError(
      `AdamW hyperparameters out of range: lr ${h.lr}, beta1 ${h.beta1}, beta2 ${h.beta2}, eps ${h.eps}, weight decay ${h.weightDecay}`,
      'need lr ≥ 0, 0 ≤ beta < 1, eps > 0, weight decay ≥ 0',
    );
  }
}

/**
 * One torch.optim.AdamW step (amsgrad off, maximize off):
 *   p ← p − lr·wd·p;  m ← b1·m + (1−b1)·g;  v ← b2·v + (1−b2)·g²
 *   p ← p − lr · (m / (1 − b1^t)) / (sqrt(v / (1 − b2^t)) + eps)
 * torch computes the last line as p − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps): the same number.
 */
export function adamwStep(
  params: readonly Floats[],
  grads: readonly Floats[],
  state: AdamWState,
  h: AdamWHyper,
): { params: Float64Array[]; state: AdamWState } {
  checkStep(params, grads, state, h);
  const t = state.step + 1;
  const bc1 = 1 - h.beta1 ** t;
  const bc2 = 1 - h.beta2 ** t;
  const out: Float64Array[] = [];
  const m: Float64Array[] = [];
  const v: Float64Array[] = [];
  params.forEach((p, k) => {
    const g = grads[k];
    const pk = new Float64Array(p.length);
    const mk = new Float64Array(p.length);
    const vk = new Float64Array(p.length);
    for (let i = 0; i < p.length; i++) {
      const decayed = p[i] * (1 - h.lr * h.weightDecay);
      mk[i] = h.beta1 * state.m[k][i] + (1 - h.beta1) * g[i];
      vk[i] = h.beta2 * state.v[k][i] + (1 - h.beta2) * g[i] * g[i];
      pk[i] = decayed - h.lr * (mk[i] / bc1) / (Math.sqrt(vk[i] / bc2) + h.eps);
    }
    out.push(pk);
    m.push(mk);
    v.push(vk);
  });
  return { params: out, state: { step: t, m, v } };
}
