// Run histories: paged appends (pure plan + stored), bounded writes per step, capped samples,
// listing without pages, updates and deletion (pages and checkpoints).
import { describe, expect, it } from 'vitest';
import { StorageNotFoundError } from '../../src/storage/errors';
import { planAppend } from '../../src/storage/runs';
import type { MetricRow, SampleRecord } from '../../src/storage/schema';
import { loraTensors, testDb } from './helpers';

const rows = (from: number, n: number): MetricRow[] => Array.from({ length: n }, (_, i) => ({ step: from + i, reward: (from + i) / 100, kl: 0.01 }));
const samples = (from: number, n: number): SampleRecord[] =>
  Array.from({ length: n }, (_, i) => ({ step: from + i, prompt: `p${from + i}`, completion: `<answer>${from + i}</answer>`, rewards: { format: 1, answer: 0.1 }, total: 1.1 }));

const base = { name: 'countdown', adapterId: null, config: { lr: 1e-5 }, status: 'running' as const };

describe('planAppend (pure)', () => {
  it('fills the partial last page, then new pages', () => {
    const p = planAppend({ pageSize: 4, rows: 6, firstPage: 0, cap: 0 }, [5, 6], [7, 8, 9, 10, 11]);
    expect(p.pages).toEqual([[1, [5, 6, 7, 8]], [2, [9, 10, 11]]]);
    expect(p.log.rows).toBe(11);
    expect(p.drop).toEqual([0, 0]);
  });

  it('drops pages wholly older than the cap', () => {
    const p = planAppend({ pageSize: 4, rows: 8, firstPage: 0, cap: 5 }, undefined, [9, 10, 11, 12, 13]);
    expect(p.log).toEqual({ pageSize: 4, rows: 13, firstPage: 2, cap: 5 });
    expect(p.drop).toEqual([0, 2]);
  });

  it('heals a missing partial page by counting what is there; appending nothing writes nothing', () => {
    const p = planAppend({ pageSize: 4, rows: 6, firstPage: 0, cap: 0 }, undefined, [1]);
    expect(p.pages).toEqual([[1, [1]]]);
    expect(p.log.rows).toBe(5);
    expect(planAppend({ pageSize: 4, rows: 6, firstPage: 0, cap: 0 }, [5, 6], []).pages).toEqual([]);
  });
});

describe('runs', () => {
  it('appends metrics across pages and reads them back in order', async () => {
    const { storage } = await testDb().open({ runLog: { metricsPageSize: 8 } });
    const run = await storage.saveRun(base);
    for (let s = 1; s <= 30; s += 3) await storage.appendRunMetrics(run.id, rows(s, 3));
    const back = await storage.loadRun(run.id);
    expect(back.metrics).toEqual(rows(1, 30));
    expect(back.metricsLog.rows).toBe(30);
    expect(back.name).toBe('countdown');
  });

  it('each append is one transaction writing the head and only the last page of each log', async () => {
    const { storage, backend } = await testDb().open({ runLog: { metricsPageSize: 16, samplesPageSize: 4 } });
    const run = await storage.saveRun({ ...base, id: 'run-x' });
    expect(run.id).toBe('run-x');
    for (let s = 1; s <= 40; s++) {
      backend.setManyCalls = [];
      await storage.appendRunMetrics(run.id, rows(s, 1), samples(s, 1));
      expect(backend.setManyCalls.length).toBe(1);
      const keys = backend.setManyCalls[0].map(([k]) => k);
      expect(keys).toEqual(['run:run-x', `runlog:run-x:m:${Math.floor((s - 1) / 16)}`, `runlog:run-x:s:${Math.floor((s - 1) / 4)}`]);
      const pageLen = (backend.setManyCalls[0][1][1] as unknown[]).length;
      expect(pageLen).toBe(((s - 1) % 16) + 1);
    }
  });

  it('keeps only the newest 200 samples and drops their old pages', async () => {
    const { storage, backend } = await testDb().open({ runLog: { samplesPageSize: 20 } });
    const run = await storage.saveRun(base);
    for (let s = 0; s < 500; s += 50) await storage.appendRunMetrics(run.id, rows(s, 50), samples(s, 50));
    const back = await storage.loadRun(run.id);
    expect(back.samples.length).toBe(200);
    expect(back.samples[0].step).toBe(300);
    expect(back.samples[199].step).toBe(499);
    expect(back.metrics.length).toBe(500);
    const samplePages = (await backend.keys()).filter((k) => k.startsWith(`runlog:${run.id}:s:`));
    expect(samplePages.length).toBe(10); // pages 15..24 hold rows 300..499
  });

  it('lists run heads without reading pages; updates status; missing runs give StorageNotFoundError', async () => {
    let t = 0;
    const { storage, backend } = await testDb().open({ now: () => ++t });
    const a = await storage.saveRun({ ...base, name: 'a' });
    const b = await storage.saveRun({ ...base, name: 'b' });
    await storage.appendRunMetrics(a.id, rows(1, 5), samples(1, 2));
    backend.reads = [];
    const list = await storage.listRuns();
    expect(list.map((r) => r.name)).toEqual(['a', 'b']); // a was updated last
    expect(backend.reads.filter((k) => k.startsWith('runlog:'))).toEqual([]);
    const upd = await storage.updateRun(b.id, { status: 'finished' });
    expect(upd.status).toBe('finished');
    expect((await storage.loadRun(b.id)).status).toBe('finished');
    await expect(storage.updateRun('nope', { status: 'paused' })).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.appendRunMetrics('nope', rows(1, 1))).rejects.toBeInstanceOf(StorageNotFoundError);
    await expect(storage.updateRun(b.id, { status: 'bogus' as never })).rejects.toThrow(/invalid run status "bogus"/);
  });

  it('saveRun on an existing id updates fields and keeps the logs', async () => {
    const { storage } = await testDb().open();
    const r = await storage.saveRun({ ...base, id: 'r1' });
    await storage.appendRunMetrics('r1', rows(1, 3));
    await storage.saveRun({ ...base, id: 'r1', status: 'paused' });
    const back = await storage.loadRun('r1');
    expect(back.status).toBe('paused');
    expect(back.createdAt).toBe(r.createdAt);
    expect(back.metrics).toEqual(rows(1, 3));
  });

  it('deleteRun removes the head, its pages and its checkpoints', async () => {
    const { storage, backend } = await testDb().open();
    await storage.saveRun({ ...base, id: 'r1' });
    await storage.appendRunMetrics('r1', rows(1, 300), samples(1, 3));
    const t = loraTensors(1);
    await storage.saveCheckpoint('r1', { step: 1, adapter: t, optimizer: { step: 1, m: t, v: t }, rng: null, config: {}, metrics: [] });
    expect(await storage.deleteRun('r1')).toBe(true);
    expect((await backend.keys()).filter((k) => k !== 'tabzero:schema')).toEqual([]);
    expect(await storage.deleteRun('r1')).toBe(false);
  });
});
