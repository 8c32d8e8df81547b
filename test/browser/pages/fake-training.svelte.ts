// A stand-in for TrainingState on the panels test page: the same public shape (TrainingView), with
// state the test drives directly — synthetic metric rows and samples (some with HTML-looking text),
// status changes — and a record of the calls the panels made.
import type { TrainConfig } from '../../../src/grpo/config';
import type { RewardSpec } from '../../../src/grpo/rewards';
import type { TaskSpec } from '../../../src/grpo/tasks';
import type { ErrorInfo } from '../../../src/gpu/errors';
import type { SampleView, TrainingView } from '../../../src/ui/training-view';

/** Deterministic pseudo-noise in [-1, 1). */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return 2 * (x - Math.floor(x)) - 1;
}

/** A plausible metric row for step `s` of a run whose reward rises after ~60 steps. */
export function metricRow(s: number): Record<string, number> {
  const rise = 1 / (1 + Math.exp(-(s - 70) / 15));
  const countdown = 0.05 + 0.8 * rise + 0.05 * noise(s);
  const format = Math.min(1, 0.2 + 0.9 * rise + 0.05 * noise(s + 1));
  const mean = 180 - 60 * rise + 20 * noise(s + 2);
  return {
    step: s, reward: countdown + 0.5 * format, reward_std: 0.3 + 0.1 * noise(s + 3), frac_reward_zero_std: Math.max(0, 0.5 - 0.4 * rise + 0.1 * noise(s + 4)),
    'rewards/countdown/mean': countdown, 'rewards/countdown/std': 0.2, 'rewards/think_answer_format/mean': format, 'rewards/think_answer_format/std': 0.1,
    kl: 0.0005 * s * (1 + 0.2 * noise(s + 5)), loss: 0.01 * noise(s + 6), grad_norm: 0.08 + 0.03 * noise(s + 7), learning_rate: 1e-5 * Math.min(1, s / 10),
    tokens_per_second: 210 + 15 * noise(s + 8), step_time: 14 + noise(s + 9), gpu_memory_bytes: 3.4e9 + 2e7 * noise(s + 10),
    'completions/mean_length': mean, 'completions/min_length': mean - 80, 'completions/max_length': Math.min(512, mean + 150),
    'completions/clipped_ratio': 0.05, entropy: 0.6, 'clip_ratio/region_mean': 0.001, 'time/rollout': 9,
  };
}

const PROMPT = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n Using the numbers [3, 4, 5], create an equation that equals 12. …<|im_end|>\n<|im_start|>assistant\nLet me solve this step by step.\n<think>';

export function samplesFor(step: number): SampleView[] {
  return [
    { step, prompt: PROMPT, completion: ' 3 + 4 = 7, 7 + 5 = 12. </think>\n<answer> 3 + 4 + 5 </answer>', rewards: { countdown: 1, think_answer_format: 1 }, total: 1.5 },
    { step, prompt: PROMPT, completion: ' Maybe <b>bold</b> and <img src=x onerror="window.pwned=1"> tricks. </think>\n<answer> 3 * 4 </answer>', rewards: { countdown: 0.1, think_answer_format: 1 }, total: 0.6 },
    { step, prompt: PROMPT, completion: ' I do not know <script>window.pwned=2</script>', rewards: { countdown: 0, think_answer_format: 0, len: 0 }, total: 0, errors: { len: 'TypeError: x is undefined' } },
  ];
}

export class FakeTraining implements TrainingView {
  status = $state<TrainingView['status']>('idle');
  runId = $state<string | null>(null);
  step = $state(0);
  totalSteps = $state(200);
  metrics = $state<Record<string, number>[]>([]);
  samples = $state<SampleView[]>([]);
  lastCheckpointStep = $state<number | null>(null);
  error = $state<ErrorInfo | null>(null);
  resumable = $state<{ runId: string; step: number; totalSteps: number } | null>(null);
  calls: string[] = [];

  async start(_c: TrainConfig, _t: TaskSpec, _r: RewardSpec[], fromActiveAdapter = false): Promise<void> { this.calls.push(fromActiveAdapter ? 'start:from-adapter' : 'start'); this.status = 'running'; this.runId = 'run-1'; }
  async pause(): Promise<void> { this.calls.push('pause'); this.status = 'paused'; }
  async resume(): Promise<void> { this.calls.push('resume'); this.status = 'running'; }
  async stop(): Promise<void> { this.calls.push('stop'); this.status = 'stopped'; }
  async updateRewards(r: RewardSpec[]): Promise<void> { this.calls.push(`update-rewards:${r.map((x) => x.name).join(',')}`); }
  get secondsPerStep(): number | null { return this.metrics.length ? 14.2 : null; }
  get eta(): number | null { return this.metrics.length ? (this.totalSteps - this.step) * 14.2 : null; }

  /** Adds steps one at a time (metrics row, samples, checkpoint every 10). */
  addSteps(n: number): void {
    for (let i = 0; i < n; i++) {
      const s = this.step + 1;
      this.metrics.push(metricRow(s));
      this.samples = [...samplesFor(s), ...this.samples].slice(0, 60);
      this.step = s;
      if (s % 10 === 0) this.lastCheckpointStep = s;
    }
  }
}
