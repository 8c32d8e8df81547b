// Reward evaluation for the playground and the "try on the latest samples" table, on the main
// thread: every built-in reward with its score and a reason (the *Detailed variants where they
// exist), the weighted total of a reward set, and the task behind a training sample recovered from
// its prompt text (Countdown numbers and target) or from the uploaded dataset (QA answer).
import { BUILTIN_REWARDS, type RewardSample, type RewardSpec } from '../grpo/rewards';
import { countdownRewardDetailed } from '../rewards/countdown';
import { correctnessRewardDetailed } from '../rewards/correctness';
import { thinkAnswerFormatDetailed } from '../rewards/format';
import type { QaRow } from '../tasks/dataset';

export interface RewardResult {
  name: string;
  kind: 'builtin' | 'custom';
  weight: number;
  /** null: not scored here (custom functions without the sandbox) */
  score: number | null;
  reason: string;
  error?: string;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** One built-in reward's score and why. */
export function builtinDetailed(name: string, completion: string, sample: RewardSample): { score: number; reason: string } {
  switch (name) {
    case 'countdown': {
      if (sample.kind !== 'countdown') return { score: 0, reason: 'scores Countdown tasks only (this task is a dataset question): 0' };
      return countdownRewardDetailed(completion, sample);
    }
    case 'correctness': {
      if (sample.kind !== 'qa') return { score: 0, reason: 'scores dataset answers only (this task is Countdown): 0' };
      return correctnessRewardDetailed(completion, sample.answer, sample.mode);
    }
    case 'think_answer_format':
      return thinkAnswerFormatDetailed(completion);
    default: {
      const b = BUILTIN_REWARDS.find((x) => x.name === name);
      if (!b) throw new Error(`unknown built-in reward "${name}"`);
      const score = b.fn(completion, sample);
      return { score, reason: b.description };
    }
  }
}

/** Scores a completion with every function of a reward set; custom ones are left for the sandbox. */
export function evaluateBuiltins(specs: readonly RewardSpec[], completion: string, sample: RewardSample): RewardResult[] {
  return specs.map((s): RewardResult => {
    if (s.kind === 'custom') return { name: s.name, kind: 'custom', weight: s.weight, score: null, reason: 'custom function' };
    try {
      const d = builtinDetailed(s.name, completion, sample);
      if (!Number.isFinite(d.score)) return { name: s.name, kind: 'builtin', weight: s.weight, score: 0, reason: d.reason, error: `returned ${d.score}` };
      return { name: s.name, kind: 'builtin', weight: s.weight, score: d.score, reason: d.reason };
    } catch (e) {
      return { name: s.name, kind: 'builtin', weight: s.weight, score: 0, reason: 'failed', error: describe(e) };
    }
  });
}

/** Σ weight · score over the scored functions (unscored ones count 0, as a failed call does in training). */
export function weightedTotal(results: readonly RewardResult[]): number {
  return results.reduce((t, r) => t + (r.score === null || r.error ? 0 : r.weight * r.score), 0);
}

/** The Countdown task in a TinyZero prompt ("Using the numbers [44, 19, 35], create an equation that equals 98."). */
export function countdownFromPrompt(prompt: string): { nums: number[]; target: number } | null {
  const m = /Using the numbers \[([\d,\s]*)\], create an equation that equals (-?\d+)/.exec(prompt);
  if (!m) return null;
  const nums = m[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!nums.length || !nums.every(Number.isSafeInteger)) return null;
  return { nums, target: Number(m[2]) };
}

/** The task behind a training sample: Countdown from the prompt, else the dataset row whose question the prompt contains. */
export function sampleFromPrompt(prompt: string, rows: readonly QaRow[] = [], mode: 'exact' | 'numeric' | 'auto' = 'auto'): RewardSample | null {
  const cd = countdownFromPrompt(prompt);
  if (cd) return { kind: 'countdown', ...cd };
  for (const r of rows) {
    const q = typeof r.prompt === 'string' ? r.prompt : r.prompt.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
    if (q && prompt.includes(q)) return { kind: 'qa', question: q, answer: r.answer, mode };
  }
  return null;
}

/** A "parse a list of numbers" helper for the playground's input: "44, 19 35" → [44, 19, 35]. */
export function parseNums(text: string): number[] | string {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return 'enter the numbers, e.g. 44, 19, 35';
  const nums = parts.map(Number);
  const bad = parts.find((p, i) => !/^\d+$/.test(p) || !Number.isSafeInteger(nums[i]));
  if (bad !== undefined) return `“${bad}” is not a non-negative whole number`;
  if (nums.length > 6) return `at most 6 numbers (got ${nums.length})`;
  return nums;
}
