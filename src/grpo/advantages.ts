// Group-relative advantages, as TRL GRPOTrainer computes them in _generate_and_score_completions
// (multi_objective_aggregation "sum_then_normalize", the default): A = (r − mean_group) / (std + 1e-4).
// Pure float64 math on the CPU; the trainer calls it once per generation batch.
// Rewards [B] are grouped consecutively: completions g·G … g·G+G−1 answer the same prompt.

/** How rewards are scaled after centring (TRL `scale_rewards`). */
export type RewardScale = 'group' | 'batch' | 'none';

export const REWARD_SCALES: readonly RewardScale[] = ['group', 'batch', 'none'];

/** Added to the std before dividing, exactly as TRL does. */
export const ADVANTAGE_STD_EPS = 1e-4;

export class AdvantageError extends Error {
  override name = 'AdvantageError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

export interface AdvantageResult {
  /** [B] advantages; 0 where the reward is NaN (unscorable completion) or the std is undefined */
  advantages: Float64Array;
  /** [B/G] nan-mean of each group's rewards */
  groupMean: Float64Array;
  /** [B/G] unbiased nan-std of each group (NaN for a group with < 2 scored rewards) */
  groupStd: Float64Array;
  /** TRL's `frac_reward_zero_std`: fraction of completions whose scaling std is 0 (see fracRewardZeroStd) */
  fracRewardZeroStd: number;
  /** TRL's `reward` and `reward_std` metrics: nan-mean and unbiased nan-std over the whole batch */
  rewardMean: number;
  rewardStd: number;
}

/** Mean of the non-NaN values of xs[from, to); NaN when there are none (torch.nanmean). */
function nanMean(xs: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  let n = 0;
  for (let i = from; i < to; i++) if (!Number.isNaN(xs[i])) { s += xs[i]; n++; }
  return n === 0 ? NaN : s / n;
}

/** Unbiased (Bessel, correction 1) std of the non-NaN values; NaN when fewer than 2 (TRL's nanstd). */
function nanStd(xs: ArrayLike<number>, from: number, to: number): number {
  const m = nanMean(xs, from, to);
  let ss = 0;
  let n = 0;
  for (let i = from; i < to; i++) if (!Number.isNaN(xs[i])) { ss += (xs[i] - m) ** 2; n++; }
  return n > 1 ? Math.sqrt(ss / (n - 1)) : NaN;
}

/** torch.isclose(std, 0) with default tolerances: |std| ≤ atol 1e-8 (NaN is never close). */
function isZeroStd(std: number): boolean {
  return Math.abs(std) <= 1e-8;
}

function checkShape(B: number, G: number): void {
  if (!Number.isInteger(G) || G < 1) {
    throw new AdvantageError(`group size G must be an integer ≥ 1; got ${G}`, 'pass numGenerations from the TrainConfig');
  }
  if (B === 0 || B % G !== 0) {
    throw new AdvantageError(
      `rewards has ${B} entries, not a positive multiple of the group size G = ${G}`,
      'rewards must hold G consecutive completions for each prompt',
    );
  }
}

/** Per-completion std used for scaling (and for the zero-std metric), repeated over each group. */
function scalingStd(rewards: ArrayLike<number>, G: number, scale: RewardScale, groupStd: Float64Array): Float64Array {
  const B = rewards.length;
  const std = new Float64Array(B);
  if (scale === 'batch') {
    // TRL: nanstd over the whole batch when it has more than one element, else zeros.
    std.fill(B > 1 ? nanStd(rewards, 0, B) : 0);
  } else {
    // 'group' and 'none' both use the group std ('none' only for the zero-std metric); G = 1 → zeros.
    for (let i = 0; i < B; i++) std[i] = G > 1 ? groupStd[Math.floor(i / G)] : 0;
  }
  return std;
}

/**
 * A = (r − mean_group) / (std + 1e-4), std per group ('group'), over the batch ('batch'), or none
 * ('none': A = r − mean_group). NaN rewards are left out of means and stds and get advantage 0.
 */
export function computeAdvantages(
  rewards: Float32Array | Float64Array | readonly number[], // [B]
  G: number,
  scale: RewardScale,
): AdvantageResult {
  const B = rewards.length;
  checkShape(B, G);
  if (!REWARD_SCALES.includes(scale)) {
    throw new AdvantageError(`unknown reward scale '${String(scale)}'`, `use one of ${REWARD_SCALES.join(', ')}`);
  }
  const nGroups = B / G;
  const groupMean = new Float64Array(nGroups);
  const groupStd = new Float64Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    groupMean[g] = nanMean(rewards, g * G, g * G + G);
    groupStd[g] = G > 1 ? nanStd(rewards, g * G, g * G + G) : NaN;
  }
  const std = scalingStd(rewards, G, scale, groupStd);
  const advantages = new Float64Array(B);
  let zero = 0;
  for (let i = 0; i < B; i++) {
    let a = rewards[i] - groupMean[Math.floor(i / G)];
    if (scale !== 'none') a /= std[i] + ADVANTAGE_STD_EPS;
    advantages[i] = Number.isNaN(a) ? 0 : a; // torch.nan_to_num(nan=0)
    if (isZeroStd(std[i])) zero++;
  }
  return {
    advantages,
    groupMean,
    groupStd,
    fracRewardZeroStd: zero / B,
    rewardMean: nanMean(rewards, 0, B),
    rewardStd: nanStd(rewards, 0, B),
  };
}

/**
 * TRL's `frac_reward_zero_std`: the fraction of completions whose scaling std is 0 — for 'group' and
 * 'none' the share of groups where every completion got the same reward (they carry no signal); for
 * 'batch' TRL tests the batch std, so it is 1 only when the whole batch has one reward value.
 */
export function fracRewardZeroStd(
  rewards: Float32Array | Float64Array | readonly number[], // [B]
  G: number,
  scale: RewardScale,
): number {
  return computeAdvantages(rewards, G, scale).fracRewardZeroStd;
}
