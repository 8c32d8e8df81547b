// Learning-rate schedules as Hugging Face transformers builds them for Trainer (LambdaLR over
// optimizer steps): constant, constant_with_warmup, linear, cosine (half cycle). Pure functions.
// `step` counts optimizer steps already taken (0 for the first update), like LambdaLR's counter:
// with warmup the first update uses lr 0, exactly as transformers does.

export type LrSchedule = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';

export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export class ScheduleError extends Error {
  override name = 'ScheduleError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

export interface ScheduleParams {
  schedule: LrSchedule;
  /** peak learning rate */
  lr: number;
  /** fraction of totalSteps spent warming up linearly from 0, in [0, 1) */
  warmupRatio: number;
  /** total optimizer steps of the run (transformers' num_training_steps / max_steps) */
  totalSteps: number;
}

/** transformers TrainingArguments.get_warmup_steps for a ratio: ceil(totalSteps · warmupRatio). */
export function warmupSteps(warmupRatio: number, totalSteps: number): number {
  return Math.ceil(totalSteps * warmupRatio);
}

function check(step: number, p: ScheduleParams): void {
  if (!LR_SCHEDULES.includes(p.schedule)) {
    throw new ScheduleError(`unknown lr schedule '${String(p.schedule)}'`, `use one of ${LR_SCHEDULES.join(', ')}`);
  }
  if (!Number.isInteger(step) || step < 0) {
    throw new ScheduleError(`step must be an integer ≥ 0; got ${step}`, 'pass the number of optimizer steps already taken');
  }
  if (!Number.isInteger(p.totalSteps) || p.totalSteps < 1) {
    throw new ScheduleError(`totalSteps must be an integer ≥ 1; got ${p.totalSteps}`, 'set totalSteps in the TrainConfig');
  }
  if (!(p.warmupRatio >= 0 && p.warmupRatio < 1)) {
    throw new ScheduleError(`warmupRatio must be in [0, 1); got ${p.warmupRatio}`, '0.1 warms up over the first 10% of steps');
  }
}

/** The multiplier transformers' lr_lambda returns at `step` (peak lr × this = the lr used). */
export function lrFactor(step: number, p: ScheduleParams): number {
  check(step, p);
  if (p.schedule === 'constant') return 1; // get_constant_schedule: warmup is ignored, as in transformers
  const warm = warmupSteps(p.warmupRatio, p.totalSteps);
  if (step < warm) return step / Math.max(1, warm);
  const left = p.totalSteps - warm;
  switch (p.schedule) {
    case 'constant_with_warmup':
      return 1;
    case 'linear':
      return Math.max(0, (p.totalSteps - step) / Math.max(1, left));
    case 'cosine': {
      const progress = (step - warm) / Math.max(1, left);
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 0.5 * 2 * progress))); // num_cycles = 0.5
    }
  }
}

/** Learning rate for the update after `step` optimizer steps. */
export function lrAt(step: number, p: ScheduleParams): number {
  return p.lr * lrFactor(step, p);
}
