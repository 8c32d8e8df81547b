// Checkpoints: full round trip (adapter + AdamW m/v + step + RNG + config + metrics), keep-last-K
// pruning, re-saving a step, and automatic fallback past damaged checkpoints.
import { describe, expect, it } from 'vitest';
import type { CheckpointInput } from '../../src/storage/checkpoints';
import { CorruptRecordError, StorageError } from '../../src/storage/errors';
import { bitsEqual, chunkKeys, loraTensors, testDb } from './helpers';

function ckpt(step: number, seed = step): CheckpointInput {
  return {
    step,
    adapter: loraTensors(seed),
    optimizer: { step: step * 2, m: loraTensors(seed + 1000), v: loraTensors(seed + 2000) },
    rng: { state: [step, 7, 11], algo: 'xoshiro128' },
    config: { lr: 1e-5, groupSize: 8 },
    metrics: Array.from({ length: step }, (_, i) => ({ step: i + 1, reward: i / 10 })),
  };
}

function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => undefined;
  return fn().finally(() => { console.warn = warn; });
}

async function corruptFirstChunk(raw: ReturnType<ReturnType<typeof testDb>['raw']>, key: string): Promise<void> {
  const bytes = new Uint8Array((await raw.get(key)) as ArrayBuffer);
  bytes[0] ^= 1;
  await raw.set(key, bytes.buffer);
}

describe('checkpoints', () => {
  it('round-trips adapter, m, v (same names, separate roles), optimizer step, RNG, config and metrics', async () => {
    const { storage } = await testDb().open();
    const input = ckpt(5);
    const meta = await storage.saveCheckpoint('run-1', input);
    expect(meta.tensors.filter((t) => t.role === 'adam_v').length).toBe(input.adapter.size);
    const latest = await storage.loadLatestCheckpoint('run-1');
    expect(latest?.fellBack).toBe(false);
    expect(latest?.skipped).toEqual([]);
    const c = latest!.checkpoint;
    expect(c.meta.step).toBe(5);
    expect(c.optimizer.step).toBe(10);
    expect(c.meta.rng).toEqual(input.rng);
    expect(c.meta.config).toEqual(input.config);
    expect(c.meta.metrics).toEqual(input.metrics);
    for (const [map, want] of [[c.adapter, input.adapter], [c.optimizer.m, input.optimizer.m], [c.optimizer.v, input.optimizer.v]] as const) {
      expect([...map.keys()]).toEqual([...want.keys()]);
      for (const [name, t] of want) expect(bitsEqual(map.get(name)!, (t as { data: Float32Array }).data), name).toBe(true);
    }
    const byStep = await storage.loadCheckpoint('run-1', 5);
    expect(byStep.meta).toEqual(c.meta);
  });

  it('returns null for a run without checkpoints and rejects bad run ids and mismatched optimizer state', async () => {
    const { storage } = await testDb().open();
    expect(await storage.loadLatestCheckpoint('nothing')).toBeNull();
    await expect(storage.saveCheckpoint('bad:id', ckpt(1))).rejects.toThrow(/invalid run id/);
    const bad = ckpt(1);
    bad.optimizer.m.delete('tiny');
    const err = await storage.saveCheckpoint('r', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/optimizer m for 'tiny' has no values, adapter tensor has 3/);
  });

  it('keeps the last K checkpoints per run and deletes the chunks of the pruned ones', async () => {
    const { storage, backend } = await testDb().open({ keepCheckpoints: 2 });
    for (const step of [10, 20, 30, 40]) await storage.saveCheckpoint('run-a', ckpt(step));
    await storage.saveCheckpoint('run-b', ckpt(1)); // other runs are untouched
    const a = await storage.listCheckpoints('run-a');
    expect(a.map((m) => m.step)).toEqual([30, 40]);
    const b = await storage.listCheckpoints('run-b');
    const want = [...a, ...b].flatMap((m) => m.chunks.map((c) => c.key)).sort();
    expect(chunkKeys(await backend.keys()).sort()).toEqual(want);
    await storage.saveCheckpoint('run-a', ckpt(50), { keepLast: 1 });
    expect((await storage.listCheckpoints('run-a')).map((m) => m.step)).toEqual([50]);
  });

  it('re-saving the same step replaces it atomically (old chunks removed)', async () => {
    const { storage, backend } = await testDb().open();
    await storage.saveCheckpoint('r', ckpt(3, 1));
    const second = await storage.saveCheckpoint('r', ckpt(3, 2));
    expect((await storage.listCheckpoints('r')).length).toBe(1);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(second.chunks.map((c) => c.key).sort());
    const c = await storage.loadCheckpoint('r', 3);
    expect(bitsEqual(c.adapter.get('tiny')!, loraTensors(2).get('tiny')!.data)).toBe(true);
  });

  it('"latest" follows commit order: after resuming from step 10, a new step 15 beats a damaged step 20', async () => {
    const db = testDb();
    const { storage } = await db.open({ keepCheckpoints: 3 });
    await storage.saveCheckpoint('r', ckpt(10));
    const s20 = await storage.saveCheckpoint('r', ckpt(20));
    await corruptFirstChunk(db.raw(), s20.chunks[0].key);
    const resumed = await quiet(() => storage.loadLatestCheckpoint('r'));
    expect(resumed?.checkpoint.meta.step).toBe(10);
    await storage.saveCheckpoint('r', ckpt(15));
    const latest = await storage.loadLatestCheckpoint('r');
    expect(latest?.checkpoint.meta.step).toBe(15);
    expect(latest?.fellBack).toBe(false);
  });

  it('falls back to the previous valid checkpoint when the newest is damaged, and reports it', async () => {
    const db = testDb();
    const { storage } = await db.open({ keepCheckpoints: 5 });
    await storage.saveCheckpoint('r', ckpt(1));
    const s2 = await storage.saveCheckpoint('r', ckpt(2));
    const s3 = await storage.saveCheckpoint('r', ckpt(3));
    const raw = db.raw();
    await corruptFirstChunk(raw, s3.chunks[s3.chunks.length - 1].key);
    await raw.set('ckpt:r:2', { ...s2, optimizerStep: 'four' }); // damaged pointer (its seq still readable)
    const latest = await quiet(() => storage.loadLatestCheckpoint('r'));
    expect(latest?.checkpoint.meta.step).toBe(1);
    expect(latest?.fellBack).toBe(true);
    expect(latest?.skipped.map((s) => [s.step, s.error.name])).toEqual([[3, 'CorruptRecordError'], [2, 'CorruptRecordError']]);
    expect(latest?.skipped[0].error.hint.length).toBeGreaterThan(0);
    await expect(storage.loadCheckpoint('r', 3)).rejects.toBeInstanceOf(CorruptRecordError);
  });

  it('throws CorruptRecordError with a hint when every checkpoint is damaged', async () => {
    const db = testDb();
    const { storage } = await db.open();
    const s1 = await storage.saveCheckpoint('r', ckpt(1));
    await db.raw().del(s1.chunks[0].key);
    const err = await quiet(() => storage.loadLatestCheckpoint('r')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    expect((err as CorruptRecordError).message).toMatch(/all 1 checkpoints are damaged/);
    expect((err as CorruptRecordError).hint).toMatch(/saved adapter/);
  });

  it('a quota failure while saving keeps the previous checkpoint loadable', async () => {
    const { storage, backend } = await testDb().open();
    await storage.saveCheckpoint('r', ckpt(1));
    backend.failOnWrite(3, 'quota');
    await expect(storage.saveCheckpoint('r', ckpt(2))).rejects.toThrow(/out of storage space while writing chunk 3\//);
    const latest = await storage.loadLatestCheckpoint('r');
    expect(latest?.checkpoint.meta.step).toBe(1);
    expect((await storage.sweepOrphans()).chunksDeleted).toBe(0);
  });
});
