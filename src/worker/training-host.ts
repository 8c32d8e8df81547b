// The worker's training commands: start-training (a new run, or with runId a stored one), pause,
// resume (in memory after a pause, else from the run's latest IndexedDB checkpoint — after a reload
// or a lost device), stop and update-rewards. Each answers `ok` once done; state changes, metrics,
// samples and checkpoints stream as events (training-loop.ts). One run per worker context.
import { TabZeroError } from '../gpu/errors';
import { assertValidConfig } from '../grpo/config';
import { validateRewardSpecs, type CustomScorer, type RewardSpec } from '../grpo/rewards';
import { loraBase, type SessionCheckpoint, type SessionSpec } from '../grpo/session';
import { createPromptSource } from '../grpo/tasks';
import { SandboxScorer } from '../rewards/sandbox';
import { readLoraTensors } from '../lora/peft';
import { newId } from '../storage/keys';
import { openStorage, type Storage } from '../storage/store';
import type { Command } from './protocol';
import type { LoadedModel, WorkerContext } from './context';
import { ACTIVE_STATES, TrainingRun } from './training-loop';
import { fromLoadedCheckpoint } from './training-store';

type Cmd<T extends Command['type']> = Extract<Command, { type: T }>;

/** Where runs are stored and how custom rewards are scored (tests inject both). */
export interface TrainingHostOptions {
  storage?: () => Promise<Storage>;
  customScorer?: () => CustomScorer;
}

const options = new WeakMap<WorkerContext, TrainingHostOptions>();
const runs = new WeakMap<WorkerContext, TrainingRun>();

export function configureTrainingHost(ctx: WorkerContext, o: TrainingHostOptions): void {
  options.set(ctx, o);
}

/** The context's current (or last) run, if any. */
export function currentRun(ctx: WorkerContext): TrainingRun | null {
  return runs.get(ctx) ?? null;
}

let shared: Promise<Storage> | null = null;
function defaultStorage(): Promise<Storage> {
  shared ??= openStorage().catch((e: unknown) => { shared = null; throw e; });
  return shared;
}

const storageOf = (ctx: WorkerContext) => options.get(ctx)?.storage ?? defaultStorage;
const scorerOf = (ctx: WorkerContext): CustomScorer => options.get(ctx)?.customScorer?.() ?? new SandboxScorer();

function needModel(ctx: WorkerContext, what: string): LoadedModel {
  if (!ctx.model || !ctx.gpu) throw new TabZeroError(`cannot ${what}: no model is loaded`, 'load a model in the Model panel first (after a lost GPU, load it again); then start or resume training');
  return ctx.model;
}

function assertFree(ctx: WorkerContext, what: string): void {
  const run = runs.get(ctx);
  if (run && ACTIVE_STATES.includes(run.state)) throw new TabZeroError(`cannot ${what}: training is ${run.state}`, 'pause or stop the current run first');
  const j = ctx.job;
  if (j) throw new TabZeroError(`cannot ${what}: ${j.kind === 'loading' ? 'a model is loading' : j.kind === 'generating' ? 'a reply is being generated' : 'training is running'}`, j.kind === 'generating' ? 'stop the reply first' : 'wait for it to finish');
}

/** Frees the previous run's session (its checkpoint stays in storage and can be resumed). */
function retire(ctx: WorkerContext): void {
  runs.get(ctx)?.close();
  runs.delete(ctx);
}

/** Creates the run's session (state starting → running) and answers `id` with ok. */
async function launch(ctx: WorkerContext, run: TrainingRun, id: number, ckpt?: SessionCheckpoint, init?: SessionCheckpoint['adapter']): Promise<void> {
  runs.set(ctx, run);
  run.setState('starting', id);
  ctx.job = { kind: 'training', id };
  try {
    if (ckpt) await run.store.setStatus(run.runId, 'running');
    else await run.store.createRun(run.runId, run.spec, run.model.name);
    await run.open(ckpt, init);
  } catch (e) {
    run.close();
    if (ctx.job?.kind === 'training') ctx.job = null;
    const hint = (e as { hint?: unknown }).hint;
    run.setState('failed', id, { error: { name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e), hint: typeof hint === 'string' ? hint : '' } });
    await run.store.setStatus(run.runId, 'failed');
    throw e;
  }
  if (ckpt) ctx.post({ type: 'run-history', id, runId: run.runId, step: ckpt.step, totalSteps: ckpt.spec.config.totalSteps, metrics: ckpt.metrics });
  run.begin(id);
  run.acknowledge(id);
}

export async function startTraining(cmd: Cmd<'start-training'>, ctx: WorkerContext): Promise<void> {
  if (cmd.runId) return resumeFromStore(ctx, cmd.id, cmd.runId, cmd.rewards);
  const model = needModel(ctx, 'start training');
  assertFree(ctx, 'start training');
  let spec: SessionSpec = { config: assertValidConfig(cmd.config), task: cmd.task, rewards: cmd.rewards };
  validateRewardSpecs(spec.rewards);
  createPromptSource(spec.task, model.tokenizer); // a bad task fails here, before GPU memory is taken
  let init: SessionCheckpoint['adapter'] | undefined;
  if (cmd.fromActiveAdapter) {
    const a = ctx.lora;
    if (!a || !ctx.gpu) throw new TabZeroError('cannot continue training: no adapter is active', 'import or pick an adapter in the Adapters panel (Use), or start with a fresh adapter');
    // the adapter's own shape wins over the form's LoRA settings; the optimizer starts fresh
    spec = { ...spec, config: assertValidConfig({ ...spec.config, loraR: a.r, loraAlpha: a.alpha, loraTargets: [...a.targets] }), startFrom: ctx.loraName ?? 'active adapter' };
    init = await readLoraTensors(ctx.gpu, a);
  }
  retire(ctx);
  await launch(ctx, new TrainingRun(ctx, newId(), model, spec, storageOf(ctx), scorerOf(ctx), cmd.id), cmd.id, undefined, init);
}

/** Opens a stored run at its latest checkpoint (optionally with new rewards) and runs it on. */
async function resumeFromStore(ctx: WorkerContext, id: number, runId: string, rewards?: RewardSpec[]): Promise<void> {
  const model = needModel(ctx, 'resume training');
  assertFree(ctx, 'resume training');
  if (rewards) validateRewardSpecs(rewards);
  const storage = await storageOf(ctx)();
  const latest = await storage.loadLatestCheckpoint(runId);
  if (!latest) throw new TabZeroError(`run '${runId}' has no checkpoint to resume from`, 'start a new run; checkpoints are saved every checkpointEvery steps and when training pauses or stops');
  const { ckpt, model: trainedOn } = fromLoadedCheckpoint(latest.checkpoint, loraBase(model.weights));
  if (trainedOn && trainedOn !== model.name) throw new TabZeroError(`run '${runId}' was trained on ${trainedOn}; the loaded model is ${model.name}`, `load ${trainedOn} in the Model panel, then resume`);
  if (ckpt.step >= ckpt.spec.config.totalSteps) throw new TabZeroError(`run '${runId}' already finished its ${ckpt.spec.config.totalSteps} steps`, 'start a new run (its adapter is in the library)');
  if (rewards) ckpt.spec = { ...ckpt.spec, rewards };
  retire(ctx);
  const run = new TrainingRun(ctx, runId, model, ckpt.spec, storageOf(ctx), scorerOf(ctx), id);
  if (latest.fellBack) run.report('reading the newest checkpoints', new TabZeroError(`${latest.skipped.length} newer checkpoint(s) were damaged; resumed from step ${ckpt.step}`, 'the steps after it are trained again'));
  await launch(ctx, run, id, ckpt);
}

export async function pauseTraining(cmd: Cmd<'pause'>, ctx: WorkerContext): Promise<void> {
  const run = runs.get(ctx);
  if (run?.state === 'paused') return ctx.post({ type: 'ok', id: cmd.id });
  if (!run || !['starting', 'running', 'pausing'].includes(run.state)) throw new TabZeroError('no training is running to pause', 'start or resume a run first');
  run.requestPause(cmd.id);
  await run.settled();
  ctx.post({ type: 'ok', id: cmd.id });
}

export async function resumeTraining(cmd: Cmd<'resume'>, ctx: WorkerContext): Promise<void> {
  const run = runs.get(ctx);
  const runId = cmd.runId ?? run?.runId;
  if (!runId) throw new TabZeroError('no training run to resume', 'start a run; after a reload, stored runs can be resumed from the Training panel');
  if (run && run.runId === runId) {
    if (run.state === 'running' || run.state === 'starting') throw new TabZeroError('training is already running', 'pause it first, or wait');
    await run.settled();
    if (run.state === 'paused' && run.usable()) {
      const j = ctx.job;
      if (j) throw new TabZeroError(`cannot resume training: ${j.kind === 'loading' ? 'a model is loading' : 'a reply is being generated'}`, 'wait for it to finish, or stop it');
      run.begin(cmd.id, true);
      run.acknowledge(cmd.id);
      return;
    }
  }
  await resumeFromStore(ctx, cmd.id, runId);
}

export async function stopTraining(cmd: Cmd<'stop'>, ctx: WorkerContext): Promise<void> {
  const run = runs.get(ctx);
  if (!run) throw new TabZeroError('no training run to stop', 'start a run first');
  if (run.state === 'starting' || run.state === 'running' || run.state === 'pausing') run.requestStop(cmd.id);
  await run.settled();
  if (run.state === 'paused' || (run.state === 'failed' && run.session)) await run.stopIdle(cmd.id);
  ctx.post({ type: 'ok', id: cmd.id });
}

export async function updateRewards(cmd: Cmd<'update-rewards'>, ctx: WorkerContext): Promise<void> {
  validateRewardSpecs(cmd.rewards);
  const run = runs.get(ctx);
  if (!run?.session || !['starting', 'running', 'pausing', 'paused'].includes(run.state)) {
    throw new TabZeroError('no training run to update', 'start or resume training; new reward functions apply from the next step');
  }
  run.setRewards(cmd.rewards);
  ctx.post({ type: 'ok', id: cmd.id });
}
