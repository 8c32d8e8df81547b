// Training panel state: the run's status, step, metric rows (TRL names) and newest samples from the
// worker's events; start / pause / resume / stop / update-rewards; restore() reads IndexedDB (here,
// on the main thread) after a reload: the latest unfinished run becomes `resumable`, with its history.
import type { ErrorInfo } from '../../gpu/errors';
import { toErrorInfo } from '../../gpu/errors';
import type { TrainConfig } from '../../grpo/config';
import type { RewardSpec } from '../../grpo/rewards';
import type { TaskSpec } from '../../grpo/tasks';
import type { Storage } from '../../storage/store';
import type { Event, SampleView, TrainingState as TrainingState_ } from '../../worker/protocol';
import type { WorkerClient } from '../worker-client';

/** What the state needs of the worker client (tests pass a stand-in). */
export type TrainingClient = Pick<WorkerClient, 'request' | 'subscribe'>;

export const MAX_SAMPLES = 200;
/** steps averaged for secondsPerStep */
export const PACE_WINDOW = 5;

const LIVE: readonly TrainingState_[] = ['starting', 'running', 'pausing', 'stopping'];

/** Metric rows by step, the last row of a step winning (a resumed run re-trains steps after its checkpoint). */
export function dedupeSteps(rows: Record<string, number>[]): Record<string, number>[] {
  const by = new Map<number, Record<string, number>>();
  for (const r of rows) by.set(r.step, r);
  return [...by.values()].sort((a, b) => a.step - b.step);
}

/** Stored samples (oldest first) → newest step first, each step's own order kept; of a step trained
 *  twice (resumed from an earlier checkpoint) only the later batch (when another step lies between). */
export function newestSamples(rows: SampleView[]): SampleView[] {
  const out: SampleView[] = [];
  const done = new Set<number>();
  for (let i = rows.length; i > 0 && out.length < MAX_SAMPLES;) {
    const step = rows[i - 1].step;
    let j = i;
    while (j > 0 && rows[j - 1].step === step) j--;
    if (!done.has(step)) out.push(...rows.slice(j, i));
    done.add(step);
    i = j;
  }
  return out.slice(0, MAX_SAMPLES);
}

export class TrainingState {
  status = $state<TrainingState_>('idle');
  runId = $state<string | null>(null);
  step = $state(0);
  totalSteps = $state(0);
  /** one row per step: {step, ...metrics} (TRL names: reward, reward_std, rewards/<fn>/mean, kl, loss, grad_norm, learning_rate, tokens_per_second, step_time, gpu_memory_bytes, completions/mean_length, entropy, clip_ratio/*, frac_reward_zero_std) */
  metrics = $state<Record<string, number>[]>([]);
  /** newest first, at most 200 */
  samples = $state<SampleView[]>([]);
  lastCheckpointStep = $state<number | null>(null);
  error = $state<ErrorInfo | null>(null);
  /** a stored run that can be resumed (after a reload) */
  resumable = $state<{ runId: string; step: number; totalSteps: number } | null>(null);
  /** the worker's note on the last state change (e.g. which step is redone) */
  message = $state<string | null>(null);

  private storage: Promise<Storage> | null;
  /** ids of this state's commands and of the events of its runs: their errors are shown here */
  private ids = new Set<number>();
  private unsubscribe: () => void;

  constructor(private client: TrainingClient, storage?: Promise<Storage> | Storage) {
    this.storage = storage ? Promise.resolve(storage) : null;
    this.unsubscribe = client.subscribe((e) => this.onEvent(e));
  }

  destroy(): void {
    this.unsubscribe();
  }

  /** seconds per step: the mean step_time of the last PACE_WINDOW steps */
  get secondsPerStep(): number | null {
    const rows = this.metrics.slice(-PACE_WINDOW).filter((r) => Number.isFinite(r.step_time));
    return rows.length ? rows.reduce((a, r) => a + r.step_time, 0) / rows.length : null;
  }

  /** seconds left at that pace; null before the first step or once the run is over */
  get eta(): number | null {
    const s = this.secondsPerStep;
    if (s === null || ['finished', 'stopped', 'failed'].includes(this.status) || this.totalSteps <= 0) return null;
    return Math.max(0, this.totalSteps - this.step) * s;
  }

  private onEvent(e: Event): void {
    switch (e.type) {
      case 'training-state':
        this.ids.add(e.id);
        this.status = e.state;
        this.runId = e.runId ?? this.runId;
        this.step = e.step;
        if (e.totalSteps !== undefined) this.totalSteps = e.totalSteps;
        this.message = e.message ?? null;
        if (e.error) this.error = e.error;
        if (e.state === 'starting' || e.state === 'running') this.resumable = null;
        if (e.state === 'failed' && e.runId && this.lastCheckpointStep !== null) this.resumable = { runId: e.runId, step: this.lastCheckpointStep, totalSteps: this.totalSteps };
        return;
      case 'run-history':
        this.ids.add(e.id);
        this.runId = e.runId;
        this.step = e.step;
        this.totalSteps = e.totalSteps;
        this.lastCheckpointStep = e.step;
        this.metrics = dedupeSteps(e.metrics);
        return;
      case 'step-metrics':
        this.ids.add(e.id);
        this.step = e.step;
        this.metrics = [...this.metrics.filter((r) => r.step < e.step), { step: e.step, ...e.metrics }];
        return;
      case 'samples':
        this.ids.add(e.id);
        this.samples = [...e.samples, ...this.samples].slice(0, MAX_SAMPLES);
        return;
      case 'checkpoint-saved':
        this.ids.add(e.id);
        this.lastCheckpointStep = e.step;
        return;
      case 'error':
        // storage warnings of a run, or a lost device (id null) while training
        if ((e.id !== null && this.ids.has(e.id)) || (e.id === null && LIVE.includes(this.status))) this.error = e.error;
        return;
      default:
        return;
    }
  }

  /** Sends a command; its failure becomes `error`. Svelte proxies are snapshotted (postMessage cannot clone them). */
  private async send(cmd: Parameters<TrainingClient['request']>[0]): Promise<void> {
    this.error = null;
    try {
      await this.client.request($state.snapshot(cmd) as typeof cmd, 'ok');
    } catch (e) {
      this.error = toErrorInfo(e);
    }
  }

  /** A new run; `fromActiveAdapter` continues the worker's active adapter (its r, alpha, targets) instead of a fresh one. */
  async start(config: TrainConfig, task: TaskSpec, rewards: RewardSpec[], fromActiveAdapter = false): Promise<void> {
    this.metrics = [];
    this.samples = [];
    this.step = 0;
    this.totalSteps = config.totalSteps;
    this.lastCheckpointStep = null;
    this.resumable = null;
    this.message = null;
    await this.send(fromActiveAdapter ? { type: 'start-training', config, task, rewards, fromActiveAdapter } : { type: 'start-training', config, task, rewards });
  }

  async pause(): Promise<void> {
    await this.send({ type: 'pause' });
  }

  /** Resumes the paused run, or the stored one (`resumable`, after a reload or a lost device). */
  async resume(): Promise<void> {
    const runId = this.resumable?.runId ?? this.runId ?? undefined;
    await this.send(runId ? { type: 'resume', runId } : { type: 'resume' });
  }

  async stop(): Promise<void> {
    await this.send({ type: 'stop' });
  }

  async updateRewards(rewards: RewardSpec[]): Promise<void> {
    await this.send({ type: 'update-rewards', rewards });
  }

  /** Reads the stored runs: the newest unfinished one with a checkpoint becomes `resumable`, its rows shown. */
  async restore(): Promise<void> {
    if (!this.storage || this.status !== 'idle') return;
    try {
      const s = await this.storage;
      for (const run of await s.listRuns()) {
        if (run.status === 'finished' || run.status === 'stopped') continue;
        const cks = await s.listCheckpoints(run.id);
        if (!cks.length) continue;
        const step = cks[cks.length - 1].step;
        const total = Number((run.config as { totalSteps?: unknown }).totalSteps) || 0;
        if (total && step >= total) continue;
        const rec = await s.loadRun(run.id);
        if (this.status !== 'idle') return; // a run started meanwhile
        this.runId = run.id;
        this.totalSteps = total;
        this.metrics = dedupeSteps(rec.metrics);
        this.step = this.metrics.length ? this.metrics[this.metrics.length - 1].step : step;
        this.samples = newestSamples(rec.samples);
        this.lastCheckpointStep = step;
        this.resumable = { runId: run.id, step, totalSteps: total };
        return;
      }
    } catch (e) {
      this.error = toErrorInfo(e);
    }
  }
}
