// Countdown tasks compatible with TinyZero's Countdown-Tasks-3to4 (3–4 numbers in 1..99, target
// 10..100; the Stream-of-Search generator's ranges): a seeded generator whose targets are always
// reachable, an exhaustive solver for tests, and TinyZero's two prompt templates (make_prefix).

import { ratAdd, ratDiv, ratEquals, ratMul, ratSub, rational, type Rational } from '../rewards/expr';
import type { Rng } from './rng';
import { TaskError, type ChatMessage, type CountdownTask } from './types';

export interface CountdownGenOptions {
  minCount: number;
  maxCount: number;
  minNumber: number;
  maxNumber: number;
  minTarget: number;
  maxTarget: number;
  /** draws before giving up (the count is drawn once; each try draws fresh numbers and one tree) */
  maxTries: number;
}

/** Ranges of Countdown-Tasks-3to4 (Stream-of-Search countdown_generate.py: max_target 100). */
export const COUNTDOWN_3TO4: Readonly<CountdownGenOptions> = {
  minCount: 3, maxCount: 4, minNumber: 1, maxNumber: 99, minTarget: 10, maxTarget: 100, maxTries: 10_000,
};

export interface GeneratedCountdownTask extends CountdownTask {
  /** the expression the target was built from, e.g. '(44 + 19) + 35' */
  solution: string;
}

function checkOptions(o: CountdownGenOptions): void {
  const bad = (msg: string): never => {
    throw new TaskError(`countdown generator options: ${msg}`, 'start from COUNTDOWN_3TO4 and change one value at a time');
  };
  for (const [k, v] of Object.entries(o)) if (!Number.isSafeInteger(v)) bad(`${k} = ${v} is not an integer`);
  if (o.minCount < 2 || o.minCount > o.maxCount || o.maxCount > 6) bad(`need 2 <= minCount <= maxCount <= 6, got ${o.minCount}..${o.maxCount}`);
  if (o.minNumber < 1 || o.minNumber > o.maxNumber) bad(`need 1 <= minNumber <= maxNumber, got ${o.minNumber}..${o.maxNumber}`);
  if (o.maxNumber ** o.maxCount > Number.MAX_SAFE_INTEGER) bad(`maxNumber^maxCount = ${o.maxNumber}^${o.maxCount} exceeds 2^53`);
  if (o.minTarget < 1 || o.minTarget > o.maxTarget) bad(`need 1 <= minTarget <= maxTarget, got ${o.minTarget}..${o.maxTarget}`);
  if (o.maxTries < 1) bad(`maxTries = ${o.maxTries} must be at least 1`);
}

interface Node {
  v: number;
  e: string;
  leaf: boolean;
}

const wrap = (n: Node): string => (n.leaf ? n.e : `(${n.e})`);

/**
 * Combines the numbers two at a time, in random order with random operations, until one value is
 * left. Intermediates stay non-negative integers (larger − smaller, exact division only), the
 * classic Countdown rules that Stream-of-Search's solver uses, so every target has such a solution.
 */
function randomTree(rng: Rng, nums: readonly number[]): Node {
  const items: Node[] = nums.map((v) => ({ v, e: String(v), leaf: true }));
  while (items.length > 1) {
    const i = rng.int(0, items.length - 1);
    let j = rng.int(0, items.length - 2);
    if (j >= i) j++;
    const a = items[i];
    const b = items[j];
    const [hi, lo] = a.v >= b.v ? [a, b] : [b, a];
    const ops = lo.v !== 0 && hi.v % lo.v === 0 ? ['+', '*', '-', '/'] : ['+', '*', '-'];
    const op = rng.pick(ops);
    const node: Node =
      op === '+' ? { v: a.v + b.v, e: `${wrap(a)} + ${wrap(b)}`, leaf: false }
      : op === '*' ? { v: a.v * b.v, e: `${wrap(a)} * ${wrap(b)}`, leaf: false }
      : op === '-' ? { v: hi.v - lo.v, e: `${wrap(hi)} - ${wrap(lo)}`, leaf: false }
      : { v: hi.v / lo.v, e: `${wrap(hi)} / ${wrap(lo)}`, leaf: false };
    items.splice(Math.max(i, j), 1);
    items.splice(Math.min(i, j), 1);
    items.push(node);
  }
  return items[0];
}

/** One task: a count, then fresh random numbers until a random expression tree over all of them lands in range. */
export function generateCountdownTask(rng: Rng, options: Partial<CountdownGenOptions> = {}): GeneratedCountdownTask {
  const o: CountdownGenOptions = { ...COUNTDOWN_3TO4, ...options };
  checkOptions(o);
  const count = rng.int(o.minCount, o.maxCount); // once per task, so sizes stay uniform (as in the dataset)
  for (let t = 0; t < o.maxTries; t++) {
    const nums = Array.from({ length: count }, () => rng.int(o.minNumber, o.maxNumber));
    const tree = randomTree(rng, nums);
    if (tree.v >= o.minTarget && tree.v <= o.maxTarget) return { nums, target: tree.v, solution: tree.e };
  }
  throw new TaskError(
    `countdown generator found no target in ${o.minTarget}..${o.maxTarget} in ${o.maxTries} tries (numbers ${o.minNumber}..${o.maxNumber}, ${o.minCount}–${o.maxCount} of them)`,
    'widen the target range or raise maxTries',
  );
}

/** `count` tasks in a row from the same generator (deterministic for a given rng state). */
export function generateCountdownTasks(rng: Rng, count: number, options: Partial<CountdownGenOptions> = {}): GeneratedCountdownTask[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new TaskError(`task count ${count} must be a non-negative integer`, 'ask for e.g. 1000 tasks');
  return Array.from({ length: count }, () => generateCountdownTask(rng, options));
}

// ---- solver ------------------------------------------------------------------------------------

interface Item {
  v: Rational;
  e: string;
}

function search(items: Item[], target: Rational): string | null {
  if (items.length === 1) return ratEquals(items[0].v, target) ? items[0].e : null;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i];
      const b = items[j];
      const rest = items.filter((_, k) => k !== i && k !== j);
      const cands: (Item | null)[] = [
        { v: ratAdd(a.v, b.v), e: `(${a.e} + ${b.e})` },
        { v: ratMul(a.v, b.v), e: `(${a.e} * ${b.e})` },
        { v: ratSub(a.v, b.v), e: `(${a.e} - ${b.e})` },
        { v: ratSub(b.v, a.v), e: `(${b.e} - ${a.e})` },
        b.v.n === 0n ? null : { v: ratDiv(a.v, b.v) as Rational, e: `(${a.e} / ${b.e})` },
        a.v.n === 0n ? null : { v: ratDiv(b.v, a.v) as Rational, e: `(${b.e} / ${a.e})` },
      ];
      for (const c of cands) {
        if (c === null) continue;
        const found = search([...rest, c], target);
        if (found !== null) return found;
      }
    }
  }
  return null;
}

/**
 * An expression using each of `nums` exactly once that equals `target` in exact arithmetic (any
 * rational intermediates, as the reward accepts), or null when none exists. Exhaustive: fine up to
 * 5 numbers (3,888 leaves at 4 numbers, 233,280 at 5).
 */
export function solveCountdown(nums: readonly number[], target: number): string | null {
  if (nums.length < 1 || nums.length > 5 || !nums.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new TaskError(`solveCountdown needs 1–5 non-negative integers, got [${nums.join(', ')}]`, 'the exhaustive search grows factorially; keep to Countdown sizes');
  }
  if (!Number.isSafeInteger(target)) throw new TaskError(`solveCountdown target ${target} is not an integer`, 'targets are integers');
  const found = search(nums.map((n) => ({ v: rational(BigInt(n)), e: String(n) })), rational(BigInt(target)));
  if (found === null) return null;
  return found.startsWith('(') && nums.length > 1 ? found.slice(1, -1) : found;
}

// ---- TinyZero prompts (examples/data_preprocess/countdown.py, make_prefix) ---------------------

/** Python's repr of a list of ints, as TinyZero's f-string prints `numbers`: '[44, 19, 35]'. */
export function formatNumsPython(nums: readonly number[]): string {
  return `[${nums.join(', ')}]`;
}

function instruction(task: CountdownTask): string {
  return `Using the numbers ${formatNumsPython(task.nums)}, create an equation that equals ${task.target}. ` +
    'You can use basic arithmetic operations (+, -, *, /) and each number can only be used once. ' +
    'Show your work in <think> </think> tags. And return the final answer in <answer> </answer> tags, ' +
    'for example <answer> (1 + 2) / 3 </answer>.';
}

/** TinyZero's qwen-instruct system message (its grammar kept: "You first thinks"). */
export const COUNTDOWN_QWEN_SYSTEM =
  'You are a helpful assistant. You first thinks about the reasoning process in the mind and then provides the user with the answer.';

/** Both templates end by opening the assistant's turn with this text, so completions start inside <think>. */
export const COUNTDOWN_ASSISTANT_PREFIX = 'Let me solve this step by step.\n<think>';

/** TinyZero's 'base' template (for base models, no chat template): the full prompt text. */
export function countdownPromptBase(task: CountdownTask): string {
  return 'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. ' +
    'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer.\n' +
    `User: ${instruction(task)}\nAssistant: ${COUNTDOWN_ASSISTANT_PREFIX}`;
}

/** TinyZero's 'qwen-instruct' template: the full ChatML text, assistant turn opened and prefilled. */
export function countdownPromptQwenInstruct(task: CountdownTask): string {
  return `<|im_start|>system\n${COUNTDOWN_QWEN_SYSTEM}<|im_end|>\n<|im_start|>user\n ${instruction(task)}<|im_end|>\n` +
    `<|im_start|>assistant\n${COUNTDOWN_ASSISTANT_PREFIX}`;
}

/**
 * The qwen-instruct template as chat messages for a tokenizer's chat template: rendering them with
 * add_generation_prompt and appending `assistantPrefix` gives countdownPromptQwenInstruct exactly
 * (the user text keeps TinyZero's leading space).
 */
export function countdownChat(task: CountdownTask): { messages: ChatMessage[]; assistantPrefix: string } {
  return {
    messages: [
      { role: 'system', content: COUNTDOWN_QWEN_SYSTEM },
      { role: 'user', content: ` ${instruction(task)}` },
    ],
    assistantPrefix: COUNTDOWN_ASSISTANT_PREFIX,
  };
}
