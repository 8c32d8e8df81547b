// A reward set: named reward functions with weights, combined as the weighted sum per completion,
// plus per-function mean/std over a batch for the training charts. A function that throws or
// returns a non-finite score counts 0 for that completion and reports an error; the others count.

import { RewardInputError } from './text';

export interface RewardFn<S> {
  /** unique within the set; shown on charts */
  name: string;
  weight: number;
  fn: (completion: string, sample: S) => number;
}

export interface RewardScore {
  name: string;
  /** the function's raw score, 0 when it failed */
  score: number;
  /** weight · score */
  weighted: number;
  /** why the score was replaced by 0, e.g. "threw TypeError: x is undefined" */
  error?: string;
}

export interface CombinedReward {
  /** Σ weight · score */
  total: number;
  /** one entry per function, in the set's order */
  scores: RewardScore[];
}

export interface RewardStats {
  name: string;
  /** over the batch; failed calls count as 0 */
  mean: number;
  /** unbiased (n − 1), as TRL logs reward std; 0 for a batch of one */
  std: number;
  /** calls that threw or gave a non-finite score */
  errors: number;
}

export interface BatchRewards {
  perCompletion: CombinedReward[];
  /** one entry per function, then one named 'total' for the weighted sum */
  stats: RewardStats[];
}

/** Checks names (non-empty, unique), weights (finite) and fns; throws RewardInputError. */
export function validateRewardSet<S>(set: readonly RewardFn<S>[]): void {
  const seen = new Set<string>();
  for (const [i, r] of set.entries()) {
    if (typeof r?.name !== 'string' || r.name === '') {
      throw new RewardInputError(`reward #${i} has name ${JSON.stringify(r?.name)}`, "give every reward function a non-empty name other than 'total'");
    }
    if (r.name === 'total') throw new RewardInputError(`reward #${i} is named 'total', which is reserved for the weighted sum`, 'rename it');
    if (seen.has(r.name)) throw new RewardInputError(`reward name '${r.name}' is used twice`, 'names must be unique; they label the charts');
    seen.add(r.name);
    if (!Number.isFinite(r.weight)) throw new RewardInputError(`reward '${r.name}' has weight ${r.weight}`, 'weights must be finite numbers (0 switches a function off)');
    if (typeof r.fn !== 'function') throw new RewardInputError(`reward '${r.name}' has no function`, 'fn(completion, sample) must return a number');
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 300);
  return String(e).slice(0, 300);
}

function scoreOne<S>(r: RewardFn<S>, completion: string, sample: S): RewardScore {
  let raw: unknown;
  try {
    raw = r.fn(completion, sample);
  } catch (e) {
    return { name: r.name, score: 0, weighted: 0, error: `threw ${describe(e)}` };
  }
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    const shown = typeof raw === 'number' ? String(raw) : `a ${raw === null ? 'null' : typeof raw}`;
    return { name: r.name, score: 0, weighted: 0, error: `returned ${shown}, not a finite number` };
  }
  return { name: r.name, score: raw, weighted: r.weight * raw };
}

/** Scores one completion with every function of the set. */
export function combineRewards<S>(set: readonly RewardFn<S>[], completion: string, sample: S): CombinedReward {
  validateRewardSet(set);
  const scores = set.map((r) => scoreOne(r, completion, sample));
  return { total: scores.reduce((acc, s) => acc + s.weighted, 0), scores };
}

/** Mean and unbiased std of a list; {0, 0} when empty, std 0 for one value. */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: 0, std: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length === 1) return { mean, std: 0 };
  const ss = xs.reduce((a, x) => a + (x - mean) * (x - mean), 0);
  return { mean, std: Math.sqrt(ss / (xs.length - 1)) };
}

/** Scores a batch: completions[i] goes with samples[i] (e.g. its task). */
export function scoreBatch<S>(set: readonly RewardFn<S>[], completions: readonly string[], samples: readonly S[]): BatchRewards {
  if (completions.length !== samples.length) {
    throw new RewardInputError(`scoreBatch got ${completions.length} completions but ${samples.length} samples`, 'pass one sample per completion (repeat a prompt\'s sample for each of its G completions)');
  }
  validateRewardSet(set);
  const perCompletion = completions.map((c, i) => {
    const scores = set.map((r) => scoreOne(r, c, samples[i]));
    return { total: scores.reduce((acc, s) => acc + s.weighted, 0), scores };
  });
  const stats: RewardStats[] = set.map((r, k) => ({
    name: r.name,
    ...meanStd(perCompletion.map((p) => p.scores[k].score)),
    errors: perCompletion.filter((p) => p.scores[k].error !== undefined).length,
  }));
  stats.push({ name: 'total', ...meanStd(perCompletion.map((p) => p.total)), errors: 0 });
  return { perCompletion, stats };
}
