// One training run in the engine worker: a TrainingSession on the loaded model, the step loop (yields
// between steps so pause / stop / update-rewards arrive; pause and stop also end a rollout within one
// decode step, and that abandoned step is redone on resume), events for the UI, checkpoints and the
// run record in IndexedDB, and the way it ends: paused, stopped, finished or failed (device lost).
import { DeviceLostError, TabZeroError, toErrorInfo, type ErrorInfo } from '../gpu/errors';
import type { GpuContext } from '../gpu/device';
import { destroyLora } from '../lora/adapter';
import { saveAdapterToStore } from '../lora/store-glue';
import type { CustomScorer, RewardSpec } from '../grpo/rewards';
import { loraBase, TrainingSession, type SessionCheckpoint, type SessionSpec, type SessionTokenizer } from '../grpo/session';
import { StepAbandoned, type StepResult } from '../grpo/trainer';
import type { SampleRecord } from '../storage/schema';
import type { Storage } from '../storage/store';
import type { LoadedModel, WorkerContext } from './context';
import type { SampleView, TrainingState } from './protocol';
import { RunStore, runConfig, runName } from './training-store';

/** States in which the run holds the GPU (a loop or its start-up is under way). */
export const ACTIVE_STATES: readonly TrainingState[] = ['starting', 'running', 'pausing', 'stopping'];

/** Samples sent and stored per step, and the longest prompt / completion text kept. */
export const SAMPLE_LIMITS = { perStep: 16, promptChars: 1500, completionChars: 4000 };

const yieldToEvents = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** `p`, or the device-lost error as soon as the device is lost (a lost device may never answer). */
function untilLost<T>(p: Promise<T>, gpu: GpuContext): Promise<T> {
  return Promise.race([p, gpu.lost.then((e): never => { throw e; })]);
}

export function sampleViews(r: StepResult, step: number): SampleView[] {
  const cut = (s: string, n: number, tail: boolean) => (s.length <= n ? s : tail ? `…${s.slice(-n)}` : `${s.slice(0, n)}…`);
  return r.samples.slice(0, SAMPLE_LIMITS.perStep).map((x) => ({
    step, prompt: cut(x.prompt, SAMPLE_LIMITS.promptChars, true), completion: cut(x.completion, SAMPLE_LIMITS.completionChars, false),
    rewards: x.rewards, total: x.total, ...(Object.keys(x.errors).length ? { errors: x.errors } : {}),
  }));
}

function sessionTokenizer(m: LoadedModel): SessionTokenizer {
  const t = m.tokenizer;
  return {
    encode: (text, o) => t.encode(text, o), decode: (ids, o) => t.decode(ids, o),
    applyChatTemplate: (messages, o) => t.applyChatTemplate(messages as Parameters<typeof t.applyChatTemplate>[0], o),
    eosTokenIds: [...m.eosIds],
  };
}

export class TrainingRun {
  state: TrainingState = 'idle';
  session: TrainingSession | null = null;
  lastCheckpointStep: number | null = null;
  readonly store: RunStore;
  private request: 'pause' | 'stop' | null = null;
  private requestId = 0;
  private pendingRewards: RewardSpec[] | null = null;
  private stepNow = 0;
  private abandoned: number | null = null;
  private waiters: (() => void)[] = [];
  /** warnings held until the command that opened the run has been answered */
  private held: ErrorInfo[] | null = [];

  constructor(
    readonly ctx: WorkerContext, readonly runId: string, readonly model: LoadedModel, public spec: SessionSpec,
    storage: () => Promise<Storage>, private custom: CustomScorer, private streamId: number,
  ) {
    this.store = new RunStore(storage, (what, e) => this.report(what, e));
  }

  get step(): number {
    return this.session?.step ?? this.stepNow;
  }

  get name(): string {
    return runName(this.spec, this.model.name);
  }

  setState(state: TrainingState, id: number, extra: { message?: string; error?: ErrorInfo } = {}): void {
    this.state = state;
    this.ctx.post({ type: 'training-state', id, state, runId: this.runId, step: this.step, totalSteps: this.spec.config.totalSteps, ...extra });
    if (!ACTIVE_STATES.includes(state)) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once the run no longer holds the GPU (paused, stopped, finished, failed). */
  settled(): Promise<void> {
    return ACTIVE_STATES.includes(this.state) ? new Promise((r) => this.waiters.push(r)) : Promise.resolve();
  }

  /** A storage failure: reported, never fatal (the run goes on; the next save may succeed). */
  report(what: string, e: unknown): void {
    const i = toErrorInfo(e);
    const info = { name: i.name, message: `${what} failed: ${i.message}`, hint: `${i.hint || 'retry later'}; training goes on` };
    if (this.held) this.held.push(info);
    else this.ctx.post({ type: 'error', id: this.streamId, error: info });
  }

  /** Posts `ok` for the command that opened (or resumed) the run, then any held warnings. */
  acknowledge(id: number): void {
    this.ctx.post({ type: 'ok', id });
    const held = this.held ?? [];
    this.held = null;
    for (const error of held) this.ctx.post({ type: 'error', id: this.streamId, error });
  }

  /** Builds the session (fresh, from `init` adapter tensors, or from `ckpt`); its adapter becomes the worker's active adapter. */
  async open(ckpt?: SessionCheckpoint, init?: SessionCheckpoint['adapter']): Promise<void> {
    const gpu = this.ctx.gpu;
    if (!gpu || this.ctx.model !== this.model) throw new TabZeroError('the model was unloaded while training started', 'load the model again, then start or resume');
    this.session = await TrainingSession.create(gpu, this.model.weights, sessionTokenizer(this.model), this.spec, { custom: this.custom, ckpt, init });
    this.stepNow = this.session.step;
    if (ckpt) this.lastCheckpointStep = ckpt.step;
    const old = this.ctx.lora;
    const a = this.session.lora;
    this.ctx.lora = a;
    this.ctx.loraName = this.name;
    if (old && old !== a) destroyLora(gpu, old);
    this.ctx.post({ type: 'adapter-active', id: this.streamId, name: this.name, r: a.r, alpha: a.alpha, targets: [...a.targets] });
  }

  /** Whether the in-memory session can go on (same device, model and adapter as when it paused). */
  usable(): boolean {
    const s = this.session;
    return !!s && !s.ctx.isLost() && this.ctx.gpu === s.ctx && this.ctx.model?.weights === s.weights && this.ctx.lora === s.lora;
  }

  /** Starts (or restarts, after a pause) the step loop; `id` is the command whose stream it is. */
  begin(id: number, resumed = false): void {
    this.streamId = id;
    if (resumed) this.request = null;
    this.ctx.job = { kind: 'training', id };
    if (!this.request) this.setState('running', id, this.abandoned !== null ? { message: `step ${this.abandoned} is redone from the start of its rollout` } : {});
    this.loop().catch((e: unknown) => console.error('[training] the loop ended unexpectedly:', e));
  }

  requestPause(id: number): void {
    if (this.request === 'stop') return;
    this.request = 'pause';
    this.requestId = id;
    this.setState('pausing', id);
  }

  requestStop(id: number): void {
    this.request = 'stop';
    this.requestId = id;
    this.setState('stopping', id);
  }

  /** New reward functions: applied before the next step (at once while paused). */
  setRewards(rewards: RewardSpec[]): void {
    this.pendingRewards = rewards;
    if (this.state === 'paused') void this.applyRewards();
  }

  private async applyRewards(): Promise<void> {
    const s = this.session;
    if (!this.pendingRewards || !s) return;
    s.updateRewards(this.pendingRewards);
    this.pendingRewards = null;
    this.spec = s.spec;
    await this.store.setStatus(this.runId, this.state === 'paused' ? 'paused' : 'running', { spec: this.spec, model: this.model.name });
  }

  private async loop(): Promise<void> {
    const s = this.session!;
    try {
      while (!s.done) {
        await yieldToEvents();
        if (this.request) break;
        await this.applyRewards();
        const step = s.step + 1;
        let r: StepResult;
        try {
          r = await untilLost(s.runStep({ shouldStop: () => this.request !== null || s.ctx.isLost() }), s.ctx);
        } catch (e) {
          if (e instanceof StepAbandoned && !s.ctx.isLost()) { this.abandoned = step; break; }
          throw e;
        }
        this.abandoned = null;
        await this.afterStep(r);
      }
      if (s.done) await this.end('finished', this.streamId);
      else if (this.request === 'stop') await this.end('stopped', this.requestId);
      else await this.pauseNow();
    } catch (e) {
      await this.fail(e);
    }
  }

  private async afterStep(r: StepResult): Promise<void> {
    const s = this.session!;
    const step = s.step;
    this.stepNow = step;
    const views = sampleViews(r, step);
    this.ctx.post({ type: 'step-metrics', id: this.streamId, runId: this.runId, step, metrics: r.metrics });
    this.ctx.post({ type: 'samples', id: this.streamId, runId: this.runId, step, samples: views });
    await this.store.appendStep(this.runId, { step, ...r.metrics }, views as SampleRecord[]);
    const every = this.spec.config.checkpointEvery;
    if (s.done || (every > 0 && step % every === 0)) await this.checkpoint();
  }

  /** Saves a checkpoint of the current step (once per step); storage failures only warn. */
  async checkpoint(): Promise<void> {
    const s = this.session;
    if (!s || this.lastCheckpointStep === s.step) return;
    const c = await untilLost(s.checkpoint(), s.ctx);
    const meta = await this.store.saveCheckpoint(this.runId, c, loraBase(s.weights), this.model.name);
    if (!meta) return;
    this.lastCheckpointStep = c.step;
    this.ctx.post({ type: 'checkpoint-saved', id: this.streamId, runId: this.runId, step: c.step, bytes: meta.totalBytes });
  }

  private async pauseNow(): Promise<void> {
    await this.checkpoint();
    await this.store.setStatus(this.runId, 'paused', { spec: this.spec, model: this.model.name });
    this.releaseJob();
    const message = this.abandoned !== null ? `step ${this.abandoned} was stopped during its rollout; it is redone on resume` : undefined;
    this.setState('paused', this.requestId, message ? { message } : {});
  }

  /** Ends the run (stopped or finished): last checkpoint, the adapter saved to the library, session freed. */
  async end(state: 'stopped' | 'finished', id: number): Promise<void> {
    let adapterId: string | undefined;
    if (this.usable()) {
      await this.checkpoint();
      adapterId = await this.saveAdapter();
    }
    this.close();
    await this.store.setStatus(this.runId, state, { spec: this.spec, model: this.model.name, adapterId });
    this.releaseJob();
    this.setState(state, id);
  }

  private async saveAdapter(): Promise<string | undefined> {
    const s = this.session!;
    try {
      const last = s.history[s.history.length - 1] ?? {};
      const meta = await untilLost(saveAdapterToStore(s.ctx, await this.store.get(), s.lora, {
        name: this.name, base: { modelId: this.model.name, weightsHash: this.model.weights.fingerprint, shape: loraBase(s.weights) },
        trainingConfig: runConfig(this.spec, this.model.name), step: s.step, metricSummary: last,
      }), s.ctx);
      return meta.id;
    } catch (e) {
      this.report('saving the trained adapter to the library', e);
      return undefined;
    }
  }

  private async fail(e: unknown): Promise<void> {
    const lost = e instanceof DeviceLostError || !!this.session?.ctx.isLost();
    const step = this.step;
    const ck = this.lastCheckpointStep;
    const base = toErrorInfo(e);
    const resumeHint = ck !== null ? `resume: training continues from the checkpoint at step ${ck}` : 'start the run again: it had no checkpoint yet';
    const error: ErrorInfo = lost
      ? { name: 'DeviceLostError', message: `training stopped at step ${step}: the GPU device was lost (${base.message})`, hint: `reload the model (Model panel), then ${resumeHint}` }
      : { name: base.name, message: `training stopped at step ${step}: ${base.message}`, hint: base.hint ? `${base.hint}; then ${resumeHint}` : resumeHint };
    this.close(lost);
    this.releaseJob();
    await this.store.setStatus(this.runId, 'failed');
    this.setState('failed', this.request ? this.requestId : this.streamId, { error });
  }

  /** Stops a run that is not looping (paused or failed). */
  async stopIdle(id: number): Promise<void> {
    this.setState('stopping', id);
    await this.end('stopped', id);
  }

  /** Frees the session; its adapter stays the active one unless the device is gone or it was replaced. */
  close(lost = false): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    this.stepNow = s.step;
    const keep = !lost && this.ctx.lora === s.lora;
    s.destroy({ keepAdapter: keep });
    if (!keep && this.ctx.lora === s.lora) {
      this.ctx.lora = null;
      this.ctx.loraName = null;
      this.ctx.post({ type: 'adapter-active', id: this.streamId, name: null, r: 0, alpha: 0, targets: [] });
    }
    (this.custom as { dispose?: () => void }).dispose?.();
  }

  private releaseJob(): void {
    if (this.ctx.job?.kind === 'training') this.ctx.job = null;
  }
}
