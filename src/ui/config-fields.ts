// Every TrainConfig field as the Train panel shows it: group, label, input kind, what it means, and
// the one-line reason for its default (the comments on DEFAULT_CONFIG in src/grpo/config.ts, kept
// in step by test/ui/config-fields.test.ts, which checks every field is listed exactly once).
import type { TrainConfig } from '../grpo/config';

export type FieldKind = 'int' | 'float' | 'select' | 'bool' | 'targets';

export interface FieldMeta {
  key: keyof TrainConfig;
  label: string;
  kind: FieldKind;
  /** what the field does */
  what: string;
  /** why the default is what it is */
  why: string;
  options?: readonly { value: string; label: string }[];
  min?: number;
  max?: number;
  step?: number | 'any';
}

export interface FieldGroup {
  id: string;
  title: string;
  fields: FieldMeta[];
}

export const CONFIG_GROUPS: readonly FieldGroup[] = [
  {
    id: 'sampling', title: 'Sampling (rollouts)', fields: [
      { key: 'numGenerations', label: 'Completions per prompt (G)', kind: 'int', min: 2, max: 256, what: 'GRPO compares the completions of one prompt with each other', why: 'Unsloth notebook and TRL default: 8' },
      { key: 'promptsPerStep', label: 'Prompts per step', kind: 'int', min: 1, max: 1024, what: 'each step trains on prompts × G completions', why: 'notebook: batch size 1, one prompt × G per step' },
      { key: 'maxPromptLength', label: 'Max prompt tokens', kind: 'int', min: 1, what: 'longer prompts are left-truncated', why: 'notebook: 256 (the Countdown prompt is about 150 tokens)' },
      { key: 'maxCompletionLength', label: 'Max completion tokens', kind: 'int', min: 1, what: 'sampling stops here; also dr_grpo’s normaliser', why: 'notebook: 200 (GSM8K-sized answers)' },
      { key: 'temperature', label: 'Temperature', kind: 'float', min: 0, max: 10, step: 0.05, what: 'sampling temperature; log-probs divide logits by it too, as TRL does', why: 'TRL default 1.0: sample from the model’s own distribution' },
      { key: 'topP', label: 'Top-p', kind: 'float', min: 0, max: 1, step: 0.05, what: 'nucleus sampling mass; 1 = off', why: 'TRL default: no nucleus truncation' },
      { key: 'topK', label: 'Top-k', kind: 'int', min: 0, what: 'keep the k most likely tokens; 0 = off', why: 'TRL default: off' },
      { key: 'minP', label: 'Min-p', kind: 'float', min: 0, max: 1, step: 0.01, what: 'drop tokens below minP · p_max; 0 = off', why: 'TRL default (None): off' },
    ],
  },
  {
    id: 'loss', title: 'GRPO loss', fields: [
      { key: 'beta', label: 'KL coefficient (beta)', kind: 'float', min: 0, max: 10, step: 'any', what: 'weight of the KL penalty to the base model; 0 skips the reference pass', why: 'TRL ≥ 0.19 default 0: no KL term, one forward pass less per step' },
      { key: 'epsilonLow', label: 'Clip epsilon (low)', kind: 'float', min: 0, max: 1, step: 0.01, what: 'ratio ≥ 1 − epsilonLow', why: 'TRL default epsilon, PPO’s 0.2' },
      { key: 'epsilonHigh', label: 'Clip epsilon (high)', kind: 'float', min: 0, max: 10, step: 0.01, what: 'ratio ≤ 1 + epsilonHigh (DAPO “clip higher” raises it)', why: 'TRL default epsilon_high = epsilon' },
      {
        key: 'lossType', label: 'Loss normalisation', kind: 'select', what: 'how token losses are averaged: over all tokens of the step (dapo), per sequence then over sequences (grpo), over the micro-batch’s tokens (bnpo), or by batch × max length (dr_grpo)', why: 'TRL 0.22 default dapo: token-level over the whole step, no length bias',
        options: [
          { value: 'dapo', label: 'dapo (whole step)' }, { value: 'grpo', label: 'grpo (per sequence)' },
          { value: 'bnpo', label: 'bnpo (micro-batch)' }, { value: 'dr_grpo', label: 'dr_grpo (fixed length)' },
        ],
      },
      {
        key: 'scaleRewards', label: 'Reward scaling', kind: 'select', what: 'what the advantage is divided by', why: 'TRL default: each group’s std',
        options: [{ value: 'group', label: 'group std' }, { value: 'batch', label: 'batch std' }, { value: 'none', label: 'none (Dr. GRPO)' }],
      },
      { key: 'maskTruncatedCompletions', label: 'Mask truncated completions', kind: 'bool', what: 'leave completions that hit the length limit out of the loss', why: 'TRL default: off' },
      { key: 'numIterations', label: 'Passes per batch (μ)', kind: 'int', min: 1, max: 16, what: 'optimisation passes over each generation batch', why: 'TRL default 1: old log-probs equal the current ones' },
    ],
  },
  {
    id: 'optimizer', title: 'Optimizer', fields: [
      { key: 'learningRate', label: 'Learning rate', kind: 'float', min: 0, max: 0.1, step: 'any', what: 'peak AdamW step size', why: 'notebook: 5e-6' },
      {
        key: 'lrSchedule', label: 'LR schedule', kind: 'select', what: 'how the learning rate changes over the run', why: 'notebook: cosine',
        options: [{ value: 'cosine', label: 'cosine' }, { value: 'linear', label: 'linear' }, { value: 'constant', label: 'constant' }, { value: 'constant_with_warmup', label: 'constant with warmup' }],
      },
      { key: 'warmupRatio', label: 'Warmup ratio', kind: 'float', min: 0, max: 1, step: 0.01, what: 'share of the steps spent ramping the learning rate up', why: 'notebook: 0.1' },
      { key: 'maxGradNorm', label: 'Max grad norm', kind: 'float', min: 0, step: 'any', what: 'global gradient-norm clip; 0 = off', why: 'notebook: 0.1, a tight clip keeps RL updates small' },
      { key: 'gradientAccumulationSteps', label: 'Micro-batches per step', kind: 'int', min: 1, what: 'backward runs over this many slices of the step (less memory, same result)', why: 'notebook: 1 (“increase to 4 for smoother training”)' },
      { key: 'adamBeta1', label: 'Adam beta1', kind: 'float', min: 0, max: 1, step: 'any', what: 'first-moment decay', why: 'notebook: 0.9' },
      { key: 'adamBeta2', label: 'Adam beta2', kind: 'float', min: 0, max: 1, step: 'any', what: 'second-moment decay', why: 'notebook: 0.99, adapts faster than 0.999' },
      { key: 'adamEps', label: 'Adam epsilon', kind: 'float', min: 0, max: 1, step: 'any', what: 'added to the second-moment root', why: 'transformers default 1e-8' },
      { key: 'weightDecay', label: 'Weight decay', kind: 'float', min: 0, max: 1, step: 'any', what: 'decoupled AdamW decay on every LoRA matrix', why: 'notebook: 0.1' },
    ],
  },
  {
    id: 'lora', title: 'LoRA', fields: [
      { key: 'loraR', label: 'Rank (r)', kind: 'int', min: 1, max: 256, what: 'rank of each adapter matrix pair', why: '16 keeps adapter and optimizer state small in a tab (vLLM serves r ≤ 16 by default)' },
      { key: 'loraAlpha', label: 'Alpha', kind: 'float', min: 0, max: 4096, step: 'any', what: 'LoRA scale = alpha / r', why: 'notebook: alpha = r, so the scale is 1' },
      { key: 'loraTargets', label: 'Target projections', kind: 'targets', what: 'which linear layers get an adapter (never the LM head)', why: 'notebook: all seven projections' },
    ],
  },
  {
    id: 'run', title: 'Run', fields: [
      { key: 'totalSteps', label: 'Total steps', kind: 'int', min: 1, what: 'optimizer steps of the run; schedules decay over this', why: 'notebook: 250 — GRPO needs a few hundred steps before the reward rises' },
      { key: 'checkpointEvery', label: 'Checkpoint every (steps)', kind: 'int', min: 0, what: 'save adapter and optimizer to this browser; 0 = only at the end', why: 'a tab can be closed any time: lose at most 25 steps' },
      { key: 'seed', label: 'Seed', kind: 'int', min: 0, what: 'for sampling and LoRA initialisation', why: 'notebook: random_state 3407' },
    ],
  },
];

export const ALL_FIELDS: readonly FieldMeta[] = CONFIG_GROUPS.flatMap((g) => g.fields);
