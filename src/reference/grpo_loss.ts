// Naive CPU reference of the GRPO loss head (TRL GRPOTrainer._compute_loss, token-level importance
// sampling) in float64: loss, dLoss/dlogp [B,T] and the logged metrics. The GPU loss kernel must equal it.
// Per masked token: ratio = exp(logp − old);  KL = exp(ref − logp) − (ref − logp) − 1
//   loss_t = −min(ratio·A, clip(ratio, 1−eps_low, 1+eps_high)·A) + beta·KL
// then normalised per loss type (grpo | bnpo | dr_grpo | dapo), as TRL does.

export type LossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';

export const LOSS_TYPES: readonly LossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];

export class GrpoLossError extends Error {
  override name = 'GrpoLossError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

type Floats = ArrayLike<number>;

export interface GrpoLossInputs {
  B: number;
  T: number;
  /** [B,T] per-token log-probs of the completion tokens under the policy (what the gradient is for) */
  logp: Floats;
  /** [B,T] log-probs under the policy that generated the samples; null → logp detached (ratio 1) */
  oldLogp: Floats | null;
  /** [B,T] log-probs under the reference model (adapter off); may be null when beta = 0 */
  refLogp: Floats | null;
  /** [B] advantages */
  advantages: Floats;
  /** [B,T] completion mask (1 = token counts; TRL multiplies, so fractional weights work too) */
  mask: Floats;
}

export interface GrpoLossParams {
  beta: number;
  epsilonLow: number;
  epsilonHigh: number;
  lossType: LossType;
  /** dr_grpo divides by B · maxCompletionLength */
  maxCompletionLength: number;
  /** dapo: active (masked) tokens of the whole accumulated batch, all micro-batches (TRL num_items_in_batch) */
  activeTokens?: number;
  /** grpo/bnpo/dr_grpo divide by this as TRL does in training (current_gradient_accumulation_steps); default 1 */
  accumulationSteps?: number;
}

export interface GrpoLossMetrics {
  /** TRL `kl`: masked sum of per-token KL / masked count (global masked mean); null without refLogp
   *  (TRL logs it only when beta ≠ 0; here it is also reported for beta = 0 if refLogp is given) */
  klMean: number | null;
  /** TRL `clip_ratio/region_mean`: share of masked tokens clipped low (ratio < 1−eps_low, A < 0) or high */
  clipRatio: number;
  /** TRL `clip_ratio/low_mean` and `clip_ratio/high_mean` */
  clipRatioLow: number;
  clipRatioHigh: number;
  /** TRL `clip_ratio/low_min` and `clip_ratio/high_max`: min / max over sequences of the per-sequence share */
  clipRatioLowMin: number;
  clipRatioHighMax: number;
}

export interface GrpoLossResult {
  /** the loss TRL back-propagates (already divided by accumulationSteps where TRL does) */
  loss: number;
  /** [B,T] dLoss/dlogp; 0 at masked-out tokens */
  dLogp: Float64Array;
  metrics: GrpoLossMetrics;
}

function checkInputs(x: GrpoLossInputs, p: GrpoLossParams): void {
  const { B, T } = x;
  if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1) {
    throw new GrpoLossError(`B and T must be positive integers; got B = ${B}, T = ${T}`, 'pass the batch and completion length');
  }
  const sized: [string, Floats | null, number][] = [
    ['logp', x.logp, B * T], ['oldLogp', x.oldLogp, B * T], ['refLogp', x.refLogp, B * T],
    ['mask', x.mask, B * T], ['advantages', x.advantages, B],
  ];
  for (const [name, arr, n] of sized) {
    if (arr !== null && arr.length !== n) {
      throw new GrpoLossError(`${name} has ${arr.length} elements, expected ${n} (B = ${B}, T = ${T})`, 'tensors are row-major [B,T]; advantages are [B]');
    }
  }
  if (!LOSS_TYPES.includes(p.lossType)) {
    throw new GrpoLossError(`unknown loss type '${String(p.lossType)}'`, `use one of ${LOSS_TYPES.join(', ')}`);
  }
  if (!(p.beta >= 0) || !(p.epsilonLow >= 0) || !(p.epsilonHigh >= 0)) {
    throw new GrpoLossError(`beta, epsilonLow and epsilonHigh must be ≥ 0; got ${p.beta}, ${p.epsilonLow}, ${p.epsilonHigh}`, 'check the TrainConfig');
  }
  if (p.beta !== 0 && x.refLogp === null) {
    throw new GrpoLossError(`beta = ${p.beta} needs reference log-probs, got null`, 'run the adapter-disabled forward pass, or set beta = 0 to skip it');
  }
  if (p.lossType === 'dr_grpo' && !(p.maxCompletionLength >= 1)) {
    throw new GrpoLossError(`dr_grpo needs maxCompletionLength ≥ 1; got ${p.maxCompletionLength}`, 'pass the configured maxCompletionLength');
  }
  if (p.lossType === 'dapo' && !(typeof p.activeTokens === 'number' && p.activeTokens >= 0)) {
    throw new GrpoLossError(`dapo needs activeTokens (masked tokens of the whole accumulated batch); got ${String(p.activeTokens)}`, 'count mask entries over every micro-batch of the step');
  }
  const acc = p.accumulationSteps ?? 1;
  if (!Number.isInteger(acc) || acc < 1) {
    throw new GrpoLossError(`accumulationSteps must be an integer ≥ 1; got ${acc}`, 'pass gradientAccumulationSteps');
  }
}

/** [B] weight w_b so that loss = Σ_b Σ_t w_b · mask · loss_t (each loss type's normaliser). */
function tokenWeights(x: GrpoLossInputs, p: GrpoLossParams): Float64Array {
  const { B, T, mask } = x;
  const acc = p.accumulationSteps ?? 1;
  const w = new Float64Array(B);
  let total = 0;
  for (let i = 0; i < B * T; i++) total += mask[i];
  for (let b = 0; b < B; b++) {
    let len = 0;
    for (let t = 0; t < T; t++) len += mask[b * T + t];
    switch (p.lossType) {
      case 'grpo': w[b] = 1 / (B * Math.max(len, 1)) / acc; break; // mean over sequences of per-seq mean
      case 'bnpo': w[b] = 1 / Math.max(total, 1) / acc; break; // masked sum / masked count (this micro-batch)
      case 'dr_grpo': w[b] = 1 / (B * p.maxCompletionLength) / acc; break;
      case 'dapo': w[b] = 1 / Math.max(p.activeTokens ?? 0, 1); break; // already global: no accumulation divide
    }
  }
  return w;
}

/**
 * Per-token loss and its derivative with respect to logp (old, ref and A are constants). Gradients
 * follow torch autograd: clamp passes the gradient on [lo, hi] inclusive; torch.minimum splits it
 * evenly on ties. Ties happen only where both branches have the same gradient anyway (ratio inside
 * the bounds, where clip(ratio) = ratio, or A = 0), so the tie rule never changes a number.
 */
function tokenTerm(logp: number, old: number, ref: number, A: number, beta: number, lo: number, hi: number): [number, number] {
  const ratio = Math.exp(logp - old); // d ratio / d logp = ratio
  const clipped = Math.min(Math.max(ratio, lo), hi);
  const a = ratio * A;
  const b = clipped * A;
  const da = ratio * A;
  const db = ratio >= lo && ratio <= hi ? ratio * A : 0; // clamp_backward: inclusive bounds
  const dmin = a < b ? da : a > b ? db : 0.5 * (da + db); // torch.minimum backward
  let loss = -Math.min(a, b);
  let grad = 0 - dmin; // not -dmin: a clipped token gets +0, not -0
  if (beta !== 0) {
    const d = ref - logp;
    loss += beta * (Math.exp(d) - d - 1);
    grad += beta * (1 - Math.exp(d)); // d/dlogp of exp(ref−logp) − (ref−logp) − 1
  }
  return [loss, grad];
}

function clipMetrics(x: GrpoLossInputs, lo: number, hi: number): Omit<GrpoLossMetrics, 'klMean'> {
  const { B, T, mask, advantages } = x;
  let low = 0, high = 0, region = 0, count = 0;
  let lowMin = NaN, highMax = NaN;
  for (let b = 0; b < B; b++) {
    let sl = 0, sh = 0, len = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const ratio = Math.exp(x.logp[i] - (x.oldLogp ? x.oldLogp[i] : x.logp[i]));
      const isLow = ratio < lo && advantages[b] < 0 ? 1 : 0;
      const isHigh = ratio > hi && advantages[b] > 0 ? 1 : 0;
      sl += isLow * mask[i];
      sh += isHigh * mask[i];
      region += (isLow || isHigh ? 1 : 0) * mask[i];
      len += mask[i];
    }
    low += sl; high += sh; count += len;
    if (len > 0) { // TRL: x/0 = NaN per sequence, then nanmin / nanmax
      lowMin = Number.isNaN(lowMin) ? sl / len : Math.min(lowMin, sl / len);
      highMax = Number.isNaN(highMax) ? sh / len : Math.max(highMax, sh / len);
    }
  }
  const n = Math.max(count, 1);
  return { clipRatio: region / n, clipRatioLow: low / n, clipRatioHigh: high / n, clipRatioLowMin: lowMin, clipRatioHighMax: highMax };
}

/**
 * The GRPO loss head of TRL GRPOTrainer in float64. Masked-out tokens are skipped (TRL multiplies
 * them by 0, which differs only if a padded log-prob is NaN/Inf).
 */
export function grpoLossReference(x: GrpoLossInputs, p: GrpoLossParams): GrpoLossResult {
  checkInputs(x, p);
  const { B, T, mask } = x;
  const lo = 1 - p.epsilonLow;
  const hi = 1 + p.epsilonHigh;
  const w = tokenWeights(x, p);
  const dLogp = new Float64Array(B * T);
  let loss = 0, klSum = 0, count = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (mask[i] === 0) continue;
      const old = x.oldLogp ? x.oldLogp[i] : x.logp[i];
      const ref = x.refLogp ? x.refLogp[i] : 0;
      const [lt, gt] = tokenTerm(x.logp[i], old, ref, x.advantages[b], p.beta, lo, hi);
      loss += w[b] * mask[i] * lt;
      dLogp[i] = w[b] * mask[i] * gt;
      if (x.refLogp) {
        const d = ref - x.logp[i];
        klSum += (Math.exp(d) - d - 1) * mask[i];
      }
      count += mask[i];
    }
  }
  const klMean = x.refLogp ? klSum / Math.max(count, 1) : null;
  return { loss, dLogp, metrics: { klMean, ...clipMetrics(x, lo, hi) } };
}
