// The trainer's reward set from RewardSpecs: built-in functions by name (Countdown, R1 format,
// Unsloth-style xmlcount / soft / strict format, correctness for datasets) combined with weights,
// plus custom JS functions scored by an async sandbox (their own worker, a time limit per call).
// A throwing / NaN / timed-out function scores 0 for that completion and reports the error.
import { countdownReward } from '../rewards/countdown';
import { correctnessReward, type CorrectnessMode } from '../rewards/correctness';
import { combineRewards, type RewardFn } from '../rewards/combine';
import { softFormatRewardFor, strictFormatRewardFor, thinkAnswerFormatReward, xmlCountRewardFor } from '../rewards/format';
import type { ScoredBatch } from './trainer';

/** One reward function of the reward set: built-in by name, or custom JS run in the sandbox. */
export type RewardSpec =
  | { kind: 'builtin'; name: string; weight: number }
  | { kind: 'custom'; name: string; weight: number; code: string };

/** What a reward function sees besides the completion: the task it was prompted with. */
export type RewardSample =
  | { kind: 'countdown'; nums: number[]; target: number }
  | { kind: 'qa'; question: string; answer: string; mode: CorrectnessMode };

export interface BuiltinReward {
  name: string;
  description: string;
  fn: (completion: string, sample: RewardSample) => number;
}

export const BUILTIN_REWARDS: readonly BuiltinReward[] = [
  { name: 'countdown', description: "TinyZero's Countdown score: 1.0 when the last <answer> equals the target using each number once, 0.1 when an answer is present but wrong, 0 without one", fn: (c, s) => (s.kind === 'countdown' ? countdownReward(c, s) : 0) },
  { name: 'correctness', description: 'dataset answer: 1 when the extracted answer matches (exact or numeric), else 0', fn: (c, s) => (s.kind === 'qa' ? correctnessReward(c, s.answer, s.mode) : 0) },
  { name: 'think_answer_format', description: 'R1 format: 1 when the completion is <think>…</think> then <answer>…</answer>', fn: (c) => thinkAnswerFormatReward(c) },
  { name: 'xmlcount', description: "Unsloth's xmlcount: 0.125 per well-placed think/answer tag, minus trailing text", fn: xmlCountRewardFor('think') },
  { name: 'soft_format', description: "Unsloth's soft format: 0.5 when <think>…</think> <answer>…</answer> appear in order", fn: softFormatRewardFor('think') },
  { name: 'strict_format', description: "Unsloth's strict format: 0.5 when the completion is exactly the tag layout with newlines", fn: strictFormatRewardFor('think') },
];

/** Scores custom functions, e.g. in a sandboxed worker: per function name, one score or error per completion. */
export interface CustomScorer {
  score(fns: { name: string; code: string }[], completions: string[], samples: RewardSample[]): Promise<Record<string, Array<{ score: number } | { error: string }>>>;
}

export class RewardSetError extends Error {
  override name = 'RewardSetError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** Checks the specs (names known and unique, weights finite, at least one non-zero weight). */
export function validateRewardSpecs(specs: RewardSpec[]): void {
  if (!specs.length) throw new RewardSetError('no reward functions', 'add at least one reward function (e.g. countdown)');
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new RewardSetError(`reward function "${s.name}" is listed twice`, 'give each function a unique name');
    seen.add(s.name);
    if (!Number.isFinite(s.weight)) throw new RewardSetError(`weight of "${s.name}" is ${s.weight}`, 'weights are finite numbers');
    if (s.kind === 'builtin' && !BUILTIN_REWARDS.some((b) => b.name === s.name)) {
      throw new RewardSetError(`unknown built-in reward "${s.name}"`, `choose one of ${BUILTIN_REWARDS.map((b) => b.name).join(', ')}`);
    }
  }
  if (specs.every((s) => s.weight === 0)) throw new RewardSetError('every reward weight is 0', 'give at least one function a non-zero weight, or nothing can be learned');
}

/** A scorer for the trainer: built-ins run here, custom functions in `custom` (when any). */
export function makeScorer(specs: RewardSpec[], custom: CustomScorer | null): (completions: string[], samples: RewardSample[]) => Promise<ScoredBatch> {
  validateRewardSpecs(specs);
  const builtins: RewardFn<RewardSample>[] = specs.filter((s) => s.kind === 'builtin').map((s) => ({ name: s.name, weight: s.weight, fn: BUILTIN_REWARDS.find((b) => b.name === s.name)!.fn }));
  const customs = specs.filter((s): s is Extract<RewardSpec, { kind: 'custom' }> => s.kind === 'custom');
  if (customs.length && !custom) throw new RewardSetError('custom reward functions need the sandbox', 'custom JS rewards run in the browser app; remove them for command-line training');
  return async (completions, samples) => {
    const perFunction: Record<string, number[]> = {};
    const errors: Record<string, string[]> = {};
    const totals = completions.map(() => 0);
    for (const s of specs) { perFunction[s.name] = completions.map(() => 0); errors[s.name] = completions.map(() => ''); }
    completions.forEach((c, i) => {
      const r = combineRewards(builtins, c, samples[i]);
      for (const sc of r.scores) {
        perFunction[sc.name][i] = sc.score;
        if (sc.error) errors[sc.name][i] = sc.error;
      }
      totals[i] += r.total;
    });
    if (customs.length && custom) {
      const res = await custom.score(customs.map((c) => ({ name: c.name, code: c.code })), completions, samples);
      for (const c of customs) {
        (res[c.name] ?? []).forEach((r, i) => {
          if ('error' in r || !Number.isFinite(r.score)) {
            errors[c.name][i] = 'error' in r ? r.error : `returned ${String(r.score)}`;
            return;
          }
          perFunction[c.name][i] = r.score;
          totals[i] += c.weight * r.score;
        });
      }
    }
    return { totals, perFunction, errors };
  };
}
