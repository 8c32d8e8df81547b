// TrainingState against a fake worker client and fake-indexeddb: events fill status, metrics (one row
// per step, a resumed run's history replacing rows), samples (newest first, capped), checkpoints and
// errors; commands go out as plain objects and refusals become `error`; pace and ETA; restore() after a
// reload finds the latest unfinished run with a checkpoint and shows its history.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { TrainingState, dedupeSteps, newestSamples, MAX_SAMPLES } from '../../src/ui/state/training.svelte';
import type { TrainingClient } from '../../src/ui/state/training.svelte';
import { WorkerError } from '../../src/ui/worker-client';
import { makeConfig } from '../../src/grpo/config';
import { openStorage } from '../../src/storage/store';
import type { Command, Event, SampleView } from '../../src/worker/protocol';

function fakeClient(refuse?: (c: Command) => Error | null) {
  const sent: Command[] = [];
  const listeners = new Set<(e: Event) => void>();
  let id = 100;
  const client = {
    subscribe(fn: (e: Event) => void) { listeners.add(fn); return () => listeners.delete(fn); },
    async request(cmd: Omit<Command, 'id'>, answer: string): Promise<Event> {
      const c = { ...cmd, id: id++ } as Command;
      structuredClone(c); // what postMessage does: a Svelte proxy would throw here
      sent.push(c);
      expect(answer).toBe('ok');
      const err = refuse?.(c);
      if (err) throw err;
      return { type: 'ok', id: c.id };
    },
  };
  const emit = (e: Event) => { for (const fn of listeners) fn(e); };
  return { client: client as unknown as TrainingClient, sent, emit };
}

const config = makeConfig({ totalSteps: 10 });
const task = { kind: 'countdown' as const, seed: 1, minNums: 3, maxNums: 4, template: 'instruct' as const };
const rewards = [{ kind: 'builtin' as const, name: 'countdown', weight: 1 }];
const sample = (step: number, i: number): SampleView => ({ step, prompt: 'p', completion: `c${step}.${i}`, rewards: { countdown: 0 }, total: 0 });

describe('TrainingState', () => {
  it('follows a run through its events; pace and ETA from step_time', async () => {
    const f = fakeClient();
    const t = new TrainingState(f.client);
    await t.start(config, task, rewards);
    expect(f.sent[0]).toMatchObject({ type: 'start-training', config: { totalSteps: 10 }, task, rewards });
    expect(t.totalSteps).toBe(10);
    f.emit({ type: 'training-state', id: 100, state: 'running', runId: 'r1', step: 0, totalSteps: 10 });
    for (let s = 1; s <= 3; s++) {
      f.emit({ type: 'step-metrics', id: 100, runId: 'r1', step: s, metrics: { reward: s / 10, step_time: 2 * s } });
      f.emit({ type: 'samples', id: 100, runId: 'r1', step: s, samples: [sample(s, 0), sample(s, 1)] });
    }
    f.emit({ type: 'checkpoint-saved', id: 100, runId: 'r1', step: 3, bytes: 10 });
    expect(t).toMatchObject({ status: 'running', runId: 'r1', step: 3, lastCheckpointStep: 3 });
    expect(t.metrics).toEqual([{ step: 1, reward: 0.1, step_time: 2 }, { step: 2, reward: 0.2, step_time: 4 }, { step: 3, reward: 0.3, step_time: 6 }]);
    expect(t.samples.map((s) => s.completion)).toEqual(['c3.0', 'c3.1', 'c2.0', 'c2.1', 'c1.0', 'c1.1']);
    expect(t.secondsPerStep).toBe(4);
    expect(t.eta).toBe(28);
    // a storage warning of this run (id 100) shows; another command's error does not
    f.emit({ type: 'error', id: 100, error: { name: 'StorageQuotaError', message: 'saving the checkpoint at step 4 failed', hint: 'free space; training goes on' } });
    f.emit({ type: 'error', id: 7, error: { name: 'X', message: 'chat failed', hint: '' } });
    expect(t.error?.name).toBe('StorageQuotaError');
    // a device loss: failed, with a hint; resumable from the last checkpoint
    f.emit({ type: 'training-state', id: 100, state: 'failed', runId: 'r1', step: 3, totalSteps: 10, error: { name: 'DeviceLostError', message: 'lost', hint: 'reload the model' } });
    expect(t.error).toMatchObject({ name: 'DeviceLostError' });
    expect(t.resumable).toEqual({ runId: 'r1', step: 3, totalSteps: 10 });
    expect(t.eta).toBeNull();
    await t.resume();
    expect(f.sent[1]).toMatchObject({ type: 'resume', runId: 'r1' });
    // resumed from an older checkpoint: its history replaces the rows, and re-run steps replace theirs
    f.emit({ type: 'run-history', id: 101, runId: 'r1', step: 2, totalSteps: 10, metrics: [{ step: 1, reward: 0.1, step_time: 2 }, { step: 2, reward: 0.2, step_time: 4 }] });
    f.emit({ type: 'training-state', id: 101, state: 'running', runId: 'r1', step: 2, totalSteps: 10 });
    expect(t.metrics.map((r) => r.step)).toEqual([1, 2]);
    expect(t.resumable).toBeNull();
    f.emit({ type: 'step-metrics', id: 101, runId: 'r1', step: 3, metrics: { reward: 0.9, step_time: 2 } });
    expect(t.metrics.at(-1)).toEqual({ step: 3, reward: 0.9, step_time: 2 });
    for (let s = 4; s < 150; s++) f.emit({ type: 'samples', id: 101, runId: 'r1', step: s, samples: [sample(s, 0), sample(s, 1)] });
    expect(t.samples).toHaveLength(MAX_SAMPLES);
    expect(t.samples[0].step).toBe(149);
  });

  it('sends pause / stop / update-rewards as plain objects; a refusal becomes `error`', async () => {
    const f = fakeClient((c) => (c.type === 'pause' ? new WorkerError({ name: 'TabZeroError', message: 'no training is running to pause', hint: 'start or resume a run first' }) : null));
    const t = new TrainingState(f.client);
    const live = $state({ rewards: [{ kind: 'custom' as const, name: 'f', weight: 1, code: '(c) => 1' }] });
    await t.updateRewards(live.rewards);
    expect(f.sent[0]).toEqual({ type: 'update-rewards', id: 100, rewards: [{ kind: 'custom', name: 'f', weight: 1, code: '(c) => 1' }] });
    await t.pause();
    expect(t.error).toEqual({ name: 'TabZeroError', message: 'no training is running to pause', hint: 'start or resume a run first' });
    await t.stop();
    expect(t.error).toBeNull();
    expect(f.sent.map((c) => c.type)).toEqual(['update-rewards', 'pause', 'stop']);
  });

  it('restore() shows the newest unfinished run with a checkpoint, deduplicating re-trained steps', async () => {
    const s = await openStorage({ dbName: 'ui-restore' });
    const old = await s.saveRun({ name: 'done', adapterId: null, config: { totalSteps: 5 }, status: 'finished' });
    await s.appendRunMetrics(old.id, [{ step: 1, reward: 1 }]);
    const run = await s.saveRun({ name: 'crashed', adapterId: null, config: { totalSteps: 8 }, status: 'running' });
    // steps 3–4 were trained, the tab lost its device, and the run resumed from the step-2 checkpoint
    await s.appendRunMetrics(run.id, [{ step: 1, reward: 0.1 }, { step: 2, reward: 0.2 }, { step: 3, reward: 0.3 }, { step: 4, reward: 0.4 }, { step: 3, reward: 0.35 }],
      [sample(1, 0), sample(2, 0), sample(3, 0), sample(3, 1), sample(4, 0), { ...sample(3, 0), completion: 'again' }]);
    const t0 = new Float32Array(4);
    await s.saveCheckpoint(run.id, { step: 2, adapter: new Map([['a', t0]]), optimizer: { step: 2, m: new Map([['a', t0]]), v: new Map([['a', t0]]) }, rng: null, config: {}, metrics: [] });
    const t = new TrainingState(fakeClient().client, s);
    await t.restore();
    expect(t.resumable).toEqual({ runId: run.id, step: 2, totalSteps: 8 });
    expect(t).toMatchObject({ status: 'idle', runId: run.id, step: 4, totalSteps: 8, lastCheckpointStep: 2 });
    expect(t.metrics).toEqual([{ step: 1, reward: 0.1 }, { step: 2, reward: 0.2 }, { step: 3, reward: 0.35 }, { step: 4, reward: 0.4 }]);
    expect(t.samples.map((x) => x.completion)).toEqual(['again', 'c4.0', 'c2.0', 'c1.0']);
  });

  it('helpers: dedupeSteps keeps the last row of a step; newestSamples keeps step order within a step', () => {
    expect(dedupeSteps([{ step: 2, a: 1 }, { step: 1, a: 2 }, { step: 2, a: 3 }])).toEqual([{ step: 1, a: 2 }, { step: 2, a: 3 }]);
    expect(newestSamples([sample(1, 0), sample(1, 1), sample(2, 0), sample(2, 1)]).map((x) => x.completion)).toEqual(['c2.0', 'c2.1', 'c1.0', 'c1.1']);
  });
});
