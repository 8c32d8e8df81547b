// TrainConfig: every option of TabZero's GRPO trainer, named after (and meaning the same as) TRL's
// GRPOConfig / transformers TrainingArguments, with defaults and why, validateConfig() that names each
// bad value and its allowed range, and presets. Saved with every checkpoint and adapter.
import type { LossType } from '../reference/grpo_loss';
import type { RewardScale } from './advantages';
import type { LrSchedule } from './schedule';

export type { LossType, RewardScale, LrSchedule };

import { LORA_TARGETS, type LoraTarget } from '../lora/targets';

export { LORA_TARGETS, type LoraTarget };

export interface TrainConfig {
  /** G: completions sampled per prompt (TRL num_generations) */
  numGenerations: number;
  /** distinct prompts per optimizer step; the step trains on promptsPerStep · G completions */
  promptsPerStep: number;
  /** micro-batches the step's completions are split into for backward (memory), grads summed */
  gradientAccumulationSteps: number;
  /** prompt tokens kept (left-truncated beyond this) */
  maxPromptLength: number;
  /** completion tokens sampled at most; also dr_grpo's normaliser */
  maxCompletionLength: number;
  /** sampling temperature; log-probs divide logits by it too, as TRL does */
  temperature: number;
  /** nucleus sampling mass, (0, 1]; 1 = off */
  topP: number;
  /** keep the k most likely tokens; 0 = off */
  topK: number;
  /** drop tokens below minP · p_max; 0 = off */
  minP: number;
  /** KL coefficient; 0 skips the reference (adapter-off) forward pass entirely */
  beta: number;
  /** lower clip: ratio ≥ 1 − epsilonLow (TRL epsilon) */
  epsilonLow: number;
  /** upper clip: ratio ≤ 1 + epsilonHigh (TRL epsilon_high; DAPO "clip higher") */
  epsilonHigh: number;
  lossType: LossType;
  scaleRewards: RewardScale;
  /** exclude completions that hit maxCompletionLength without EOS from the loss */
  maskTruncatedCompletions: boolean;
  /** optimisation passes over each generation batch (GRPO's μ; > 1 needs old log-probs) */
  numIterations: number;
  learningRate: number;
  lrSchedule: LrSchedule;
  warmupRatio: number;
  /** global grad-norm clip; 0 = off */
  maxGradNorm: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEps: number;
  /** decoupled AdamW weight decay (applied to every LoRA matrix) */
  weightDecay: number;
  loraR: number;
  loraAlpha: number;
  loraTargets: LoraTarget[];
  /** optimizer steps of the run (schedules decay over this) */
  totalSteps: number;
  /** save a checkpoint every this many steps; 0 = only at the end */
  checkpointEvery: number;
  /** seed for sampling, task generation and LoRA init */
  seed: number;
}

/**
 * Defaults: Unsloth's Qwen2.5 GRPO notebook (nb/Qwen2.5_(3B)-GRPO.ipynb: TRL 0.22 GRPOConfig) where it
 * sets a value, TRL 0.22's GRPOConfig defaults where it does not.
 */
export const DEFAULT_CONFIG: Readonly<TrainConfig> = Object.freeze({
  numGenerations: 8, // Unsloth notebook: num_generations = 8 (TRL default 8 too)
  promptsPerStep: 1, // notebook: per_device_train_batch_size 1 → Unsloth runs one prompt × G per step
  gradientAccumulationSteps: 1, // notebook: 1 ("increase to 4 for smoother training")
  maxPromptLength: 256, // notebook: max_prompt_length = 256
  maxCompletionLength: 200, // notebook: max_completion_length = 200 (GSM8K-sized answers)
  temperature: 1.0, // TRL default: sample from the model's own distribution
  topP: 1.0, // TRL default: no nucleus truncation
  topK: 0, // TRL default: off
  minP: 0, // TRL default (None): off
  beta: 0.0, // TRL ≥ 0.19 default: no KL term, so no reference pass (saves a forward per step)
  epsilonLow: 0.2, // TRL default epsilon (PPO's 0.2)
  epsilonHigh: 0.2, // TRL default epsilon_high = epsilon
  lossType: 'dapo', // TRL 0.22 default: token-level sum over the whole step, no length bias
  scaleRewards: 'group', // TRL default: divide by each group's std
  maskTruncatedCompletions: false, // TRL default
  numIterations: 1, // TRL default: one pass, so old log-probs = current ones (ratio 1)
  learningRate: 5e-6, // notebook: learning_rate = 5e-6
  lrSchedule: 'cosine', // notebook: lr_scheduler_type = "cosine"
  warmupRatio: 0.1, // notebook: warmup_ratio = 0.1
  maxGradNorm: 0.1, // notebook: max_grad_norm = 0.1 (tight clip keeps RL updates small)
  adamBeta1: 0.9, // notebook: adam_beta1 = 0.9
  adamBeta2: 0.99, // notebook: adam_beta2 = 0.99 (faster second-moment adaptation than 0.999)
  adamEps: 1e-8, // transformers default adam_epsilon
  weightDecay: 0.1, // notebook: weight_decay = 0.1 (until 2026-05; it now sets 0.001)
  loraR: 16, // notebook uses 64 for 3B; 16 keeps adapter + optimizer state small in a browser tab
  loraAlpha: 16, // notebook: lora_alpha = lora_rank, so the LoRA scale alpha/r is 1
  loraTargets: [...LORA_TARGETS], // notebook: all seven projections
  totalSteps: 250, // notebook: max_steps = 250
  checkpointEvery: 25, // notebook saves at 250; a tab can be closed any time, so save every 25 steps
  seed: 3407, // notebook: random_state = 3407
});

export interface ConfigIssue {
  field: keyof TrainConfig;
  message: string;
}

type Check = [keyof TrainConfig, boolean, string];

const isInt = (v: unknown, lo: number, hi = Number.MAX_SAFE_INTEGER): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const inRange = (v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): boolean =>
  typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? JSON.stringify(v) : String(v));

/** Qwen2.5's context (max_position_embeddings); prompt + completion must fit in it. */
export const MAX_CONTEXT = 32768;

function batchChecks(c: TrainConfig): Check[] {
  const perStep = c.numGenerations * c.promptsPerStep;
  return [
    ['numGenerations', isInt(c.numGenerations, 2, 256), 'numGenerations must be an integer in [2, 256] (GRPO compares completions within a group)'],
    ['promptsPerStep', isInt(c.promptsPerStep, 1, 1024), 'promptsPerStep must be an integer in [1, 1024]'],
    ['gradientAccumulationSteps', isInt(c.gradientAccumulationSteps, 1, 1024) && (!Number.isInteger(perStep) || perStep % c.gradientAccumulationSteps === 0),
      `gradientAccumulationSteps must be an integer ≥ 1 dividing promptsPerStep × numGenerations (${perStep}) into equal micro-batches`],
    ['maxPromptLength', isInt(c.maxPromptLength, 1, MAX_CONTEXT - 1), `maxPromptLength must be an integer in [1, ${MAX_CONTEXT - 1}]`],
    ['maxCompletionLength', isInt(c.maxCompletionLength, 1, MAX_CONTEXT - 1) && (!isInt(c.maxPromptLength, 1) || c.maxPromptLength + c.maxCompletionLength <= MAX_CONTEXT),
      `maxCompletionLength must be an integer ≥ 1 with maxPromptLength + maxCompletionLength ≤ ${MAX_CONTEXT} (the model's context)`],
    ['numIterations', isInt(c.numIterations, 1, 16), 'numIterations must be an integer in [1, 16] (passes over each generation batch)'],
    ['totalSteps', isInt(c.totalSteps, 1, 1_000_000), 'totalSteps must be an integer in [1, 1000000]'],
    ['checkpointEvery', isInt(c.checkpointEvery, 0, 1_000_000), 'checkpointEvery must be an integer ≥ 0 (0 = only at the end)'],
    ['seed', isInt(c.seed, 0, 2 ** 32 - 1), 'seed must be an integer in [0, 4294967295]'],
  ];
}

function samplingChecks(c: TrainConfig): Check[] {
  return [
    ['temperature', inRange(c.temperature, 0, 10, true), 'temperature must be in (0, 10] (log-probs divide logits by it)'],
    ['topP', inRange(c.topP, 0, 1, true), 'topP must be in (0, 1] (1 = off)'],
    ['topK', isInt(c.topK, 0), 'topK must be an integer ≥ 0 (0 = off)'],
    ['minP', inRange(c.minP, 0, 1, false, true), 'minP must be in [0, 1) (0 = off)'],
  ];
}

function lossChecks(c: TrainConfig): Check[] {
  return [
    ['beta', inRange(c.beta, 0, 10), 'beta must be in [0, 10] (0 = no KL term, no reference pass)'],
    ['epsilonLow', inRange(c.epsilonLow, 0, 1, false, true), 'epsilonLow must be in [0, 1) (lower clip bound 1 − epsilonLow must stay > 0)'],
    ['epsilonHigh', inRange(c.epsilonHigh, 0, 10), 'epsilonHigh must be in [0, 10]'],
    ['lossType', ['grpo', 'bnpo', 'dr_grpo', 'dapo'].includes(c.lossType), "lossType must be one of 'grpo', 'bnpo', 'dr_grpo', 'dapo'"],
    ['scaleRewards', ['group', 'batch', 'none'].includes(c.scaleRewards), "scaleRewards must be one of 'group', 'batch', 'none'"],
    ['maskTruncatedCompletions', typeof c.maskTruncatedCompletions === 'boolean', 'maskTruncatedCompletions must be true or false'],
  ];
}

function optimChecks(c: TrainConfig): Check[] {
  const targets = Array.isArray(c.loraTargets) ? c.loraTargets : [];
  const targetsOk = Array.isArray(c.loraTargets) && targets.length > 0 && new Set(targets).size === targets.length
    && targets.every((t) => (LORA_TARGETS as readonly string[]).includes(t));
  return [
    ['learningRate', inRange(c.learningRate, 0, 0.1, true), 'learningRate must be in (0, 0.1]'],
    ['lrSchedule', ['constant', 'constant_with_warmup', 'linear', 'cosine'].includes(c.lrSchedule),
      "lrSchedule must be one of 'constant', 'constant_with_warmup', 'linear', 'cosine'"],
    ['warmupRatio', inRange(c.warmupRatio, 0, 1, false, true), 'warmupRatio must be in [0, 1)'],
    ['maxGradNorm', inRange(c.maxGradNorm, 0, 1e6), 'maxGradNorm must be ≥ 0 (0 = no clipping)'],
    ['adamBeta1', inRange(c.adamBeta1, 0, 1, false, true), 'adamBeta1 must be in [0, 1)'],
    ['adamBeta2', inRange(c.adamBeta2, 0, 1, false, true), 'adamBeta2 must be in [0, 1)'],
    ['adamEps', inRange(c.adamEps, 0, 1, true), 'adamEps must be in (0, 1]'],
    ['weightDecay', inRange(c.weightDecay, 0, 1) && (!inRange(c.learningRate, 0, 0.1) || c.learningRate * c.weightDecay < 1),
      'weightDecay must be in [0, 1] (decay multiplies weights by 1 − learningRate·weightDecay)'],
    ['loraR', isInt(c.loraR, 1, 256), 'loraR must be an integer in [1, 256]'],
    ['loraAlpha', inRange(c.loraAlpha, 0, 4096, true), 'loraAlpha must be in (0, 4096] (scale = loraAlpha / loraR)'],
    ['loraTargets', targetsOk, `loraTargets must be a non-empty list without repeats drawn from ${LORA_TARGETS.join(', ')}`],
  ];
}

/** Every problem with `c`, each naming the field, the allowed range and the value given; [] when valid. */
export function validateConfig(c: TrainConfig): ConfigIssue[] {
  const checks = [...batchChecks(c), ...samplingChecks(c), ...lossChecks(c), ...optimChecks(c)];
  return checks.filter(([, ok]) => !ok).map(([field, , rule]) => ({ field, message: `${rule}; got ${show(c[field])}` }));
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly hint = 'fix the listed fields, or start from DEFAULT_CONFIG or a preset';
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid TrainConfig (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${issues.map((i) => i.message).join('; ')}`);
  }
}

/** Throws a ConfigError listing every problem; returns the config otherwise. */
export function assertValidConfig(c: TrainConfig): TrainConfig {
  const issues = validateConfig(c);
  if (issues.length > 0) throw new ConfigError(issues);
  return c;
}

/** DEFAULT_CONFIG with `overrides` applied (a fresh object; loraTargets copied). */
export function makeConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_CONFIG, ...overrides };
  c.loraTargets = [...c.loraTargets];
  return c;
}

export interface Preset {
  name: string;
  description: string;
  config: TrainConfig;
}

/**
 * Countdown R1-Zero on Qwen2.5-1.5B: TinyZero's recipe (verl GRPO: prompt 256, response 1024, n 5,
 * lr 1e-6 full-parameter, KL 0.001 low_var_kl, grad clip 1.0, constant lr) adapted to LoRA in a tab.
 */
const COUNTDOWN_R1_ZERO: TrainConfig = makeConfig({
  numGenerations: 8, // TinyZero used 5; 8 gives steadier group statistics and matches the default
  promptsPerStep: 2, // 16 completions a step: enough signal while a step stays around a minute on a laptop GPU
  gradientAccumulationSteps: 4, // backward over 4 sequences at a time bounds activation memory at 512 tokens
  maxPromptLength: 256, // TinyZero: 256 (the Countdown prompt is ~150 tokens)
  maxCompletionLength: 512, // TinyZero: 1024; halved for browser speed — early solutions fit in ~300 tokens
  temperature: 1.0, // TinyZero rollouts sample at 1.0: exploration is the point of R1-Zero
  beta: 0.001, // TinyZero kl_loss_coef 0.001 with low_var_kl, the same k3 estimator as TRL's
  epsilonLow: 0.2, // PPO/TinyZero clip
  epsilonHigh: 0.28, // DAPO's clip-higher keeps low-probability tokens able to grow (less entropy collapse)
  lossType: 'dapo', // verl's token-mean over the whole batch; no bias toward short or long answers
  scaleRewards: 'group', // GRPO as in TinyZero
  maskTruncatedCompletions: false, // truncated answers score 0 and should teach brevity, as in TinyZero
  learningRate: 1e-5, // TinyZero's 1e-6 is full-parameter; LoRA needs roughly 10× the full-FT rate
  lrSchedule: 'constant_with_warmup', // TinyZero/verl: constant lr; a short warmup guards the first updates
  warmupRatio: 0.05,
  maxGradNorm: 1.0, // verl grad_clip 1.0
  adamBeta2: 0.999, // verl uses torch AdamW defaults
  weightDecay: 0.01, // verl actor weight_decay 0.01
  loraR: 16,
  loraAlpha: 32, // scale alpha/r = 2, common PEFT practice for r = 16
  totalSteps: 200, // TinyZero's "aha" appeared within a few hundred steps of 256 prompts; 200 × 2 prompts is a first run
  checkpointEvery: 10, // a step is slow in a tab: lose at most 10 of them on a crash
});

/** Tiny CI run on test/fixtures/reference-tiny: the fixture's own settings, so one step can be compared. */
const TINY_CI: TrainConfig = makeConfig({
  numGenerations: 4, // fixture: G = 4
  promptsPerStep: 1,
  gradientAccumulationSteps: 1,
  maxPromptLength: 16,
  maxCompletionLength: 12, // fixture max_completion_length
  temperature: 0.9, // fixture temperature
  beta: 0.04, // fixture beta
  epsilonLow: 0.2,
  epsilonHigh: 0.28, // fixture epsilon_high
  lossType: 'grpo',
  learningRate: 1e-3, // fixture AdamW lr
  lrSchedule: 'constant', // step 1 uses the full lr, as in the fixture's single AdamW step
  warmupRatio: 0,
  maxGradNorm: 0.1, // fixture max_grad_norm
  adamBeta2: 0.99,
  weightDecay: 0.1,
  loraR: 4, // fixture adapter r = 4, alpha = 8
  loraAlpha: 8,
  totalSteps: 4,
  checkpointEvery: 2,
  seed: 0,
});

export const presets: readonly Preset[] = [
  { name: 'Default (Unsloth Qwen2.5 GRPO notebook)', description: 'Unsloth notebook settings with TRL defaults elsewhere', config: makeConfig() },
  { name: 'Countdown R1-Zero (Qwen2.5-1.5B)', description: 'TinyZero-style Countdown run adapted to LoRA in a browser tab', config: COUNTDOWN_R1_ZERO },
  { name: 'Tiny CI', description: 'a few steps on the reference-tiny fixture model; settings equal the fixture', config: TINY_CI },
];

/** A preset's config by exact name (a fresh copy), or an error listing the names. */
export function presetConfig(name: string): TrainConfig {
  const p = presets.find((x) => x.name === name);
  if (!p) {
    throw Object.assign(new Error(`no preset named '${name}'`), { hint: `presets: ${presets.map((x) => x.name).join(' | ')}` });
  }
  return makeConfig(p.config);
}
