// The worker's training commands on a real adapter (Dawn in Node on SwiftShader) with the tiny model
// and tokenizer of test/helpers/tiny-model.ts, IndexedDB from fake-indexeddb, and a fake CustomScorer
// for a custom reward. Run A goes 3 steps uninterrupted (a checkpoint save hits a quota error: reported,
// training goes on). Run B is paused during step 2's rollout and resumed: every step equals run A's.
// Run D is stopped during step 2's rollout (its checkpoint then holds the prompt RNG from before step
// 2), and start-training with its runId continues it: steps 2–3 equal run A's.
// Run C (same device) loses it in the middle of step 2, fails with a hint, then reloads the model on a fresh
// device and resumes from the step-1 checkpoint: steps 2–3 equal run A's (adapter, AdamW state and
// prompt RNG restored); new reward functions sent between steps change the per-function metrics.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDevice } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/node';
import { makeConfig } from '../../src/grpo/config';
import type { CustomScorer, RewardSpec } from '../../src/grpo/rewards';
import type { TaskSpec } from '../../src/grpo/tasks';
import { StorageQuotaError } from '../../src/storage/errors';
import { openStorage, type Storage } from '../../src/storage/store';
import { createWorkerContext, type WorkerContext } from '../../src/worker/context';
import { loadModelCommand } from '../../src/worker/model-host';
import type { Command, Event, SampleView } from '../../src/worker/protocol';
import { configureTrainingHost, pauseTraining, resumeTraining, startTraining, stopTraining, updateRewards } from '../../src/worker/training-host';
import { writeTinyModel } from '../helpers/tiny-model';
import { readLoraTensors } from '../../src/lora/peft';
import { clearAdapter } from '../../src/worker/adapter-host';

let tmp: string;
let dir: string;

const config = makeConfig({
  numGenerations: 2, promptsPerStep: 1, gradientAccumulationSteps: 1, maxPromptLength: 16, maxCompletionLength: 4,
  temperature: 1, beta: 0, lossType: 'dapo', learningRate: 2e-2, lrSchedule: 'constant', warmupRatio: 0, maxGradNorm: 1,
  weightDecay: 0, loraR: 2, loraAlpha: 4, totalSteps: 3, checkpointEvery: 1, seed: 7,
});
const task: TaskSpec = { kind: 'countdown', seed: 11, minNums: 3, maxNums: 3, template: 'instruct' };
const rewards: RewardSpec[] = [{ kind: 'builtin', name: 'countdown', weight: 1 }, { kind: 'custom', name: 'len', weight: 0.5, code: '(c) => c.length / 10' }];

/** Scores custom functions by completion length; the second completion of each batch errors. */
function fakeScorer(onScore?: (call: number) => void): CustomScorer {
  let calls = 0;
  return {
    async score(fns, completions) {
      onScore?.(++calls);
      return Object.fromEntries(fns.map((f) => [f.name, completions.map((c, i) => (i === 1 ? { error: 'boom' } : { score: c.length / 10 }))]));
    },
  };
}

interface Harness { ctx: WorkerContext; events: Event[]; hooks: ((e: Event) => void)[] }

function harness(acquire = () => nodeGpu().then((g) => acquireDevice(g))): Harness {
  const events: Event[] = [];
  const hooks: ((e: Event) => void)[] = [];
  const ctx = createWorkerContext((e) => { events.push(e); for (const h of hooks) h(e); }, acquire);
  return { ctx, events, hooks };
}

/** The same context, its events collected afresh. */
function rewire(ctx: WorkerContext): Harness {
  const h: Harness = { ctx, events: [], hooks: [] };
  ctx.post = (e) => { h.events.push(e); for (const f of h.hooks) f(e); };
  return h;
}

const filesOf = (d: string) => readdirSync(d).map((n) => new File([readFileSync(join(d, n))], n));
const loadTiny = (h: Harness, id: number) => loadModelCommand({ type: 'load-model', id, source: { kind: 'files', files: filesOf(dir), name: 'tiny' }, linearFormat: 'q4', embedFormat: 'bf16' }, h.ctx);
const start = (id: number): Extract<Command, { type: 'start-training' }> => ({ type: 'start-training', id, config, task, rewards });
const of = <T extends Event['type']>(h: Harness, type: T) => h.events.filter((e): e is Extract<Event, { type: T }> => e.type === type);
const states = (h: Harness) => of(h, 'training-state').map((e) => e.state);
const afterTimers = (n: number, fn: () => void) => (n === 0 ? fn() : setTimeout(() => afterTimers(n - 1, fn), 0));

async function until(h: Harness, pred: (e: Event) => boolean, ms = 60_000): Promise<Event> {
  const t0 = Date.now();
  for (;;) {
    const e = h.events.find(pred);
    if (e) return e;
    if (Date.now() - t0 > ms) throw new Error(`timed out; events: ${h.events.map((x) => x.type + ('state' in x ? `:${x.state}` : '')).join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const untilState = (h: Harness, state: string) => until(h, (e) => e.type === 'training-state' && e.state === state);

/** per step: the prompt and completions of its samples */
function rollouts(h: Harness): Map<number, { prompt: string; completions: string[] }> {
  const out = new Map<number, { prompt: string; completions: string[] }>();
  for (const e of of(h, 'samples')) out.set(e.step, { prompt: e.samples[0].prompt, completions: e.samples.map((s: SampleView) => s.completion) });
  return out;
}
const metricsOf = (h: Harness) => new Map(of(h, 'step-metrics').map((e) => [e.step, e.metrics]));

let runA: Harness;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-train-'));
  dir = join(tmp, 'tiny');
  await writeTinyModel(dir);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('training host', () => {
  it('refuses without a model, and bad reward sets, with hints', async () => {
    const h = harness();
    await expect(startTraining(start(1), h.ctx)).rejects.toMatchObject({ message: 'cannot start training: no model is loaded', hint: expect.stringContaining('Model panel') });
    await expect(updateRewards({ type: 'update-rewards', id: 2, rewards: [{ kind: 'builtin', name: 'nope', weight: 1 }] }, h.ctx)).rejects.toMatchObject({ name: 'RewardSetError', hint: expect.stringContaining('countdown') });
    await expect(updateRewards({ type: 'update-rewards', id: 3, rewards }, h.ctx)).rejects.toMatchObject({ message: 'no training run to update' });
    await expect(pauseTraining({ type: 'pause', id: 4 }, h.ctx)).rejects.toMatchObject({ hint: expect.stringContaining('start') });
  });

  it('run A: 3 steps stream metrics and samples; a quota error on a checkpoint is reported and training goes on', async () => {
    runA = harness();
    const { ctx } = runA;
    await loadTiny(runA, 1);
    const real = await openStorage({ dbName: 'train-a' });
    const storage: Storage = { ...real, saveCheckpoint: async (runId, ck, o) => { if (ck.step === 2) throw new StorageQuotaError('out of storage space while writing checkpoint (1.0 MiB)', 1 << 20); return real.saveCheckpoint(runId, ck, o); } };
    configureTrainingHost(ctx, { storage: async () => storage, customScorer: () => fakeScorer() });
    const t0 = performance.now();
    await startTraining(start(2), ctx);
    expect(ctx.job).toMatchObject({ kind: 'training', id: 2 });
    await untilState(runA, 'finished');
    console.log(`run A: 3 steps in ${((performance.now() - t0) / 1000).toFixed(1)} s (step_time ${[...metricsOf(runA).values()].map((x) => x.step_time.toFixed(1)).join(", ")} s)`);
    expect(states(runA)).toEqual(['starting', 'running', 'finished']);
    expect(ctx.job).toBeNull();
    const m = metricsOf(runA);
    expect([...m.keys()]).toEqual([1, 2, 3]);
    for (const k of ['reward', 'reward_std', 'rewards/countdown/mean', 'rewards/len/mean', 'kl', 'loss', 'grad_norm', 'learning_rate', 'tokens_per_second', 'step_time', 'gpu_memory_bytes', 'completions/mean_length', 'entropy', 'frac_reward_zero_std']) {
      expect(Number.isFinite(m.get(1)![k]), k).toBe(true);
    }
    const s1 = of(runA, 'samples')[0];
    expect(s1.samples).toHaveLength(2);
    expect(s1.samples[0]).toMatchObject({ step: 1, prompt: expect.stringContaining('Using the numbers'), rewards: { countdown: expect.any(Number), len: expect.any(Number) } });
    expect(s1.samples[1].errors).toEqual({ len: 'boom' });
    expect(of(runA, 'checkpoint-saved').map((e) => e.step)).toEqual([1, 3]);
    const quota = of(runA, 'error');
    expect(quota).toHaveLength(1);
    expect(quota[0].error).toMatchObject({ name: 'StorageQuotaError', message: expect.stringMatching(/^saving the checkpoint at step 2 failed: out of storage space/), hint: expect.stringMatching(/free space.*training goes on/) });
    // the trained adapter is the active one, kept in the library; the run record has 3 rows and samples
    expect(ctx.lora).not.toBeNull();
    expect(of(runA, 'adapter-active')[0]).toMatchObject({ name: 'GRPO Countdown · tiny', r: 2, alpha: 4 });
    const [run] = await real.listRuns();
    expect(run).toMatchObject({ status: 'finished', adapterId: expect.any(String), config: { model: 'tiny', totalSteps: 3 } });
    const rec = await real.loadRun(run.id);
    expect(rec.metrics.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(rec.samples).toHaveLength(6);
    expect((await real.listAdapters())[0]).toMatchObject({ id: run.adapterId, step: 3, r: 2 });
  }, 120_000);

  it('run B: pause during step 2\'s rollout saves no half step; resume redoes it with the same prompts and samples', async () => {
    const h = rewire(runA.ctx);
    configureTrainingHost(h.ctx, { storage: async () => openStorage({ dbName: 'train-b' }), customScorer: () => fakeScorer() });
    // checkpoint-saved(1) is posted just before the loop yields and starts step 2: two timer turns later it is in the rollout
    h.hooks.push((e) => { if (e.type === 'checkpoint-saved' && e.step === 1) afterTimers(2, () => void pauseTraining({ type: 'pause', id: 11 }, h.ctx)); });
    await startTraining(start(10), h.ctx);
    await untilState(h, 'paused');
    const paused = of(h, 'training-state').find((e) => e.state === 'paused')!;
    expect(paused).toMatchObject({ id: 11, step: 1, message: 'step 2 was stopped during its rollout; it is redone on resume' });
    expect(h.ctx.job).toBeNull();
    expect(of(h, 'step-metrics').map((e) => e.step)).toEqual([1]);
    expect(of(h, 'checkpoint-saved').map((e) => e.step)).toEqual([1]);
    expect(h.events.some((e) => e.type === 'ok' && e.id === 11)).toBe(true);
    h.hooks.length = 0;
    await resumeTraining({ type: 'resume', id: 12 }, h.ctx);
    await untilState(h, 'finished');
    expect(states(h)).toEqual(['starting', 'running', 'pausing', 'paused', 'running', 'finished']);
    expect(rollouts(h)).toEqual(rollouts(runA));
    const a = metricsOf(runA);
    for (const [step, m] of metricsOf(h)) for (const k of ['reward', 'loss', 'grad_norm', 'rewards/len/mean']) expect(m[k], `${k} @ ${step}`).toBe(a.get(step)![k]);
  }, 120_000);

  it('run D: stop during step 2\'s rollout ends the run (adapter kept); start-training with its runId continues it exactly', async () => {
    const h = rewire(runA.ctx);
    const real = await openStorage({ dbName: 'train-d' });
    // checkpoints only at the end and on stop: the stop's checkpoint is taken after the abandoned step 2
    const storage: Storage = { ...real, appendRunMetrics: async (id, rows, samples) => {
      const out = await real.appendRunMetrics(id, rows, samples);
      if (rows[0]?.step === 1 && !h.events.some((e) => e.type === 'training-state' && e.state === 'stopping')) afterTimers(2, () => void stopTraining({ type: 'stop', id: 31 }, h.ctx));
      return out;
    } };
    configureTrainingHost(h.ctx, { storage: async () => storage, customScorer: () => fakeScorer() });
    await startTraining({ ...start(30), config: { ...config, checkpointEvery: 0 } }, h.ctx);
    await untilState(h, 'stopped');
    expect(states(h)).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(of(h, 'training-state').slice(2).map((e) => e.id)).toEqual([31, 31]);
    expect(of(h, 'step-metrics').map((e) => e.step)).toEqual([1]);
    expect(of(h, 'checkpoint-saved').map((e) => e.step)).toEqual([1]);
    await until(h, (e) => e.type === 'ok' && e.id === 31);
    expect(h.ctx.job).toBeNull();
    expect(h.ctx.lora).not.toBeNull();
    const [run] = await real.listRuns();
    expect(run).toMatchObject({ status: 'stopped', adapterId: expect.any(String) });
    expect((await real.listAdapters())[0]).toMatchObject({ id: run.adapterId, step: 1 });
    await expect(updateRewards({ type: 'update-rewards', id: 32, rewards }, h.ctx)).rejects.toMatchObject({ message: 'no training run to update' });
    h.events.length = 0;
    await startTraining({ ...start(33), runId: run.id }, h.ctx);
    await untilState(h, 'finished');
    const ra = rollouts(runA);
    const rd = rollouts(h);
    expect([...rd.keys()]).toEqual([2, 3]);
    expect(rd.get(2)).toEqual(ra.get(2));
    expect(rd.get(3)).toEqual(ra.get(3));
    expect((await real.listRuns())[0]).toMatchObject({ id: run.id, status: 'finished' });
  }, 120_000);

  it('run E: a new run continues the active adapter (its r, alpha and targets; not a fresh one), and refuses with none active', async () => {
    const h = rewire(runA.ctx);
    configureTrainingHost(h.ctx, { storage: async () => openStorage({ dbName: 'train-e' }), customScorer: () => fakeScorer() });
    const before = await readLoraTensors(h.ctx.gpu!, h.ctx.lora!);
    const trainedFrom = h.ctx.loraName;
    // the form asks for r = 4 on q/v only: the active adapter's r = 2, alpha = 4, all seven targets win
    const asked = { ...config, loraR: 4, loraAlpha: 8, loraTargets: ['q_proj', 'v_proj'] as typeof config.loraTargets, learningRate: 1e-7, totalSteps: 1 };
    await startTraining({ ...start(40), config: asked, fromActiveAdapter: true }, h.ctx);
    await untilState(h, 'finished');
    expect(of(h, 'adapter-active')[0]).toMatchObject({ r: 2, alpha: 4, targets: config.loraTargets, name: expect.stringContaining(`(from ${trainedFrom})`) });
    const after = await readLoraTensors(h.ctx.gpu!, h.ctx.lora!);
    expect([...after.keys()]).toEqual([...before.keys()]);
    let maxRel = 0;
    let bNorm = 0;
    for (const [k, t] of before) {
      const a = after.get(k)!.data;
      for (let i = 0; i < t.data.length; i++) maxRel = Math.max(maxRel, Math.abs(a[i] - t.data[i]) / (Math.abs(t.data[i]) + 1e-3));
      if (k.includes('lora_B')) bNorm += t.data.reduce((s, v) => s + v * v, 0);
    }
    expect(bNorm).toBeGreaterThan(0); // a fresh adapter's B is zero: this one was trained
    expect(maxRel).toBeLessThan(1e-2); // one step at lr 1e-7 moved it by next to nothing
    await clearAdapter({ type: 'clear-adapter', id: 41 }, h.ctx);
    await expect(startTraining({ ...start(42), fromActiveAdapter: true }, h.ctx)).rejects.toMatchObject({ message: 'cannot continue training: no adapter is active', hint: expect.stringContaining('Adapters panel') });
  }, 120_000);

  it('run C: a lost device fails the run with a hint; model reload + resume continue from the checkpoint; new rewards apply between steps', async () => {
    const h = rewire(runA.ctx); // the same device (its pipelines are built), lost below; the reload gets a new one
    let destroyed = false;
    const scorer = () => fakeScorer((call) => { if (call === 2 && !destroyed) { destroyed = true; h.ctx.gpu!.destroy(); } });
    configureTrainingHost(h.ctx, { storage: async () => openStorage({ dbName: 'train-c' }), customScorer: scorer });
    await startTraining(start(20), h.ctx);
    const failed = await untilState(h, 'failed');
    expect(failed).toMatchObject({ step: 1, error: { name: 'DeviceLostError', message: expect.stringMatching(/^training stopped at step 1: the GPU device was lost/), hint: 'reload the model (Model panel), then resume: training continues from the checkpoint at step 1' } });
    expect(h.ctx.job).toBeNull();
    expect(h.ctx.model).toBeNull();
    await expect(resumeTraining({ type: 'resume', id: 21 }, h.ctx)).rejects.toMatchObject({ hint: expect.stringContaining('load it again') });
    // a fresh device and the model again, then resume
    await loadTiny(h, 22);
    h.events.length = 0;
    const next: RewardSpec[] = [{ kind: 'builtin', name: 'think_answer_format', weight: 1 }, { kind: 'custom', name: 'len2', weight: 1, code: '(c) => 1' }];
    h.hooks.push((e) => { if (e.type === 'step-metrics' && e.step === 2) void updateRewards({ type: 'update-rewards', id: 24, rewards: next }, h.ctx); });
    await resumeTraining({ type: 'resume', id: 23 }, h.ctx);
    expect(of(h, 'run-history')[0]).toMatchObject({ id: 23, step: 1, totalSteps: 3, metrics: [expect.objectContaining({ step: 1 })] });
    await untilState(h, 'finished');
    expect(states(h)).toEqual(['starting', 'running', 'finished']);
    const ra = rollouts(runA);
    const rc = rollouts(h);
    expect([...rc.keys()]).toEqual([2, 3]);
    expect(rc.get(2)).toEqual(ra.get(2));
    expect(rc.get(3)).toEqual(ra.get(3));
    const m = metricsOf(h);
    expect(m.get(2)!['rewards/countdown/mean']).toBeDefined();
    expect(m.get(3)!['rewards/countdown/mean']).toBeUndefined();
    expect(m.get(3)!['rewards/think_answer_format/mean']).toBeDefined();
    expect(m.get(3)!['rewards/len2/mean']).toBeDefined();
    expect(h.events.some((e) => e.type === 'ok' && e.id === 24)).toBe(true);
    // stop after the end is a no-op that still answers
    await stopTraining({ type: 'stop', id: 25 }, h.ctx);
    expect(h.events.some((e) => e.type === 'ok' && e.id === 25)).toBe(true);
  }, 120_000);
});
