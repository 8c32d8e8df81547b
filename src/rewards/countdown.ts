// TinyZero's Countdown reward (verl/utils/reward_score/countdown.py compute_score), on completions:
// 0 without an <answer>…</answer>; 0.1 (format score) when the answer does not parse, does not use
// each given number exactly once, divides by zero or evaluates to something else; 1.0 when it
// equals the target. Differences from TinyZero, on purpose, are listed on countdownRewardDetailed.

import { evaluateExpr, formatExprError, ratEquals, ratToString, rational } from './expr';
import { RewardInputError, lastTagged, pyStrip } from './text';

export interface CountdownRewardOptions {
  /** TinyZero reads only the completion's last line (text after the last '\n'); default true */
  lastLineOnly?: boolean;
  /** score for an answer that is present but wrong; TinyZero's format_score, default 0.1 */
  formatScore?: number;
  /** score for a correct answer; default 1 */
  score?: number;
}

export interface CountdownRewardDetail {
  score: number;
  /** human-readable: 'no <answer> tag', 'uses 7 twice', 'evaluates to 12, target 24', … */
  reason: string;
  /** the extracted answer (stripped), or null when there is none */
  answer: string | null;
}

/**
 * The answer TinyZero would extract from a completion: the last `<answer>(.*?)</answer>` match,
 * stripped. With lastLineOnly (default) only the last line is searched, as TinyZero does
 * (`solution_str.split('\n')[-1]`), so the tags cannot span lines there.
 */
export function extractCountdownAnswer(completion: string, lastLineOnly = true): string | null {
  const text = lastLineOnly ? completion.slice(completion.lastIndexOf('\n') + 1) : completion;
  const span = lastTagged(text, '<answer>', '</answer>');
  return span === null ? null : pyStrip(span.content);
}

function checkTask(task: { nums: number[]; target: number }): void {
  const nums: unknown = task?.nums;
  if (!Array.isArray(nums) || nums.length === 0 || !nums.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new RewardInputError(`countdown task nums must be a non-empty array of non-negative integers, got ${JSON.stringify(nums)?.slice(0, 80)}`, 'tasks look like {"nums": [44, 19, 35], "target": 98}');
  }
  if (!Number.isSafeInteger(task.target)) {
    throw new RewardInputError(`countdown task target must be an integer, got ${String(task.target)}`, 'tasks look like {"nums": [44, 19, 35], "target": 98}');
  }
}

function noAnswerReason(completion: string, lastLineOnly: boolean): string {
  const anywhere = lastTagged(completion, '<answer>', '</answer>');
  if (lastLineOnly && anywhere !== null) {
    const line = completion.slice(0, anywhere.start).split('\n').length;
    const lines = completion.split('\n').length;
    return `no <answer>…</answer> on the last line (TinyZero reads only the last line); the last one is on line ${line} of ${lines}`;
  }
  if (completion.includes('<answer>')) return "'<answer>' is never closed by '</answer>'";
  return 'no <answer> tag';
}

const times = (k: number): string => (k === 1 ? 'once' : k === 2 ? 'twice' : `${k} times`);

/** Why the literals are not exactly the multiset `nums`, or null when they are. */
export function numberUsageProblem(literals: readonly bigint[], nums: readonly number[]): string | null {
  const avail = new Map<string, number>();
  for (const n of nums) avail.set(String(n), (avail.get(String(n)) ?? 0) + 1);
  const used = new Map<string, number>();
  for (const l of literals) used.set(l.toString(), (used.get(l.toString()) ?? 0) + 1);
  for (const v of used.keys()) if (!avail.has(v)) return `uses ${v}, which is not in [${nums.join(', ')}]`;
  for (const [v, k] of used) {
    const have = avail.get(v) ?? 0;
    if (k > have) return have === 1 ? `uses ${v} ${times(k)}` : `uses ${v} ${times(k)}, but it is given ${times(have)}`;
  }
  for (const [v, k] of avail) {
    const u = used.get(v) ?? 0;
    if (u < k) return k === 1 ? `does not use ${v}` : `uses ${v} ${times(u)}, but it is given ${times(k)}`;
  }
  return null;
}

/**
 * Scores one completion (the generated text only, without the prompt) against a task.
 *
 * Relative to TinyZero's compute_score:
 * - TinyZero decodes prompt + completion and drops everything up to the first "Assistant:" or
 *   "<|im_start|>assistant", i.e. the prompt. Our input is the completion alone, so nothing is
 *   dropped (an "Assistant:" inside a completion is ordinary text, as it is for TinyZero).
 * - Its last-line rule is kept (lastLineOnly, default true); `{lastLineOnly: false}` searches the
 *   whole completion and lets the tags span lines.
 * - The equation is parsed by expr.ts, not Python eval: integers, + - * /, parentheses, unary
 *   +/- (Python allows them, so TinyZero does). Rejected, scoring 0.1 where TinyZero might give 1:
 *   '**' (power), '//' (floor division), decimal points (TinyZero's digit check reads '10.5' as the
 *   numbers 10 and 5, so a decimal could smuggle two numbers into one literal).
 * - Exact rational arithmetic and equality instead of floats and |result - target| < 1e-5.
 */
export function countdownRewardDetailed(completion: string, task: { nums: number[]; target: number }, options: CountdownRewardOptions = {}): CountdownRewardDetail {
  checkTask(task);
  const lastLineOnly = options.lastLineOnly ?? true;
  const formatScore = options.formatScore ?? 0.1;
  const fullScore = options.score ?? 1;
  const answer = extractCountdownAnswer(completion, lastLineOnly);
  if (answer === null) return { score: 0, reason: noAnswerReason(completion, lastLineOnly), answer };
  const wrong = (reason: string): CountdownRewardDetail => ({ score: formatScore, reason, answer });
  const r = evaluateExpr(answer);
  if (!r.ok) return wrong(formatExprError(r.error));
  const usage = numberUsageProblem(r.literals, task.nums);
  if (usage !== null) return wrong(usage);
  if (r.value === null) return wrong(formatExprError(r.error));
  if (!ratEquals(r.value, rational(BigInt(task.target)))) return wrong(`evaluates to ${ratToString(r.value)}, target ${task.target}`);
  return { score: fullScore, reason: `evaluates to ${task.target}, the target`, answer };
}

/** TinyZero's Countdown score for one completion: 0, 0.1 or 1. See countdownRewardDetailed. */
export function countdownReward(completion: string, task: { nums: number[]; target: number }): number {
  return countdownRewardDetailed(completion, task).score;
}
