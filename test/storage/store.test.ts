// openStorage: usage from meta records, quota and persistence through navigator.storage (faked),
// orphan sweeping that spares writes in progress (this tab, or another tab via Web Locks).
import { describe, expect, it } from 'vitest';
import type { StorageBackend } from '../../src/storage/backend';
import { errorInfo, StorageQuotaError } from '../../src/storage/errors';
import { adapterFields, chunkKeys, loraTensors, testDb } from './helpers';

describe('store', () => {
  it('reports usage from the pointer records without reading chunks', async () => {
    const { storage, backend } = await testDb().open();
    const a = await storage.saveAdapter(adapterFields(), loraTensors(1));
    const t = loraTensors(2);
    const c = await storage.saveCheckpoint('r', { step: 1, adapter: t, optimizer: { step: 1, m: t, v: t }, rng: null, config: {}, metrics: [] });
    await storage.saveRun({ name: 'r', adapterId: a.id, config: {}, status: 'created', id: 'r' });
    backend.reads = [];
    const u = await storage.usage();
    expect(u).toEqual({ adapters: { count: 1, bytes: a.totalBytes }, checkpoints: { count: 1, bytes: c.totalBytes }, runs: { count: 1 }, totalBytes: a.totalBytes + c.totalBytes });
    expect(c.totalBytes).toBe(3 * a.totalBytes);
    expect(chunkKeys(backend.reads)).toEqual([]);
  });

  it('estimateQuota / requestPersistence use navigator.storage when present, else null / false', async () => {
    const db = testDb();
    const { storage: none } = await db.open({ storageManager: null });
    expect(await none.estimateQuota()).toBeNull();
    expect(await none.requestPersistence()).toBe(false);
    const sm = { estimate: async () => ({ usage: 123, quota: 4567 }), persist: async () => true, persisted: async () => false };
    const { storage } = await db.open({ storageManager: sm });
    expect(await storage.estimateQuota()).toEqual({ usage: 123, quota: 4567, persisted: false });
    expect(await storage.requestPersistence()).toBe(true);
    const { storage: failing } = await db.open({ storageManager: { persist: () => Promise.reject(new Error('denied')) } });
    expect(await failing.requestPersistence()).toBe(false);
  });

  it('sweepOrphans spares the chunks of a write still in progress in this tab', async () => {
    const db = testDb();
    const { storage, backend } = await db.open();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let paused = false;
    const inner = backend.inner;
    // Hold the commit (the pointer write) until the sweep has run.
    backend.inner = {
      ...inner,
      set: async (k: string, v: unknown) => { if (k.startsWith('adapter:')) { paused = true; await gate; } return inner.set(k, v); },
    } as StorageBackend;
    const saving = storage.saveAdapter(adapterFields(), loraTensors(1));
    while (!paused) await new Promise((r) => setTimeout(r, 1));
    const n = chunkKeys(await db.raw().keys()).length;
    expect(n).toBeGreaterThan(2);
    expect(await storage.sweepOrphans()).toEqual({ chunksDeleted: 0, pagesDeleted: 0 });
    release();
    const meta = await saving;
    expect((await storage.loadAdapter(meta.id)).meta.chunks.length).toBe(n);
  });

  it('with Web Locks, a sweep in another tab spares chunks whose write lock is held', async () => {
    const db = testDb();
    const held = new Set<string>();
    let release = false; // false: the writing tab still holds its lock (alive, mid-write)
    const locks = {
      request: async (name: string, fn: () => Promise<unknown>) => {
        held.add(name);
        try { return await fn(); } finally { if (release) held.delete(name); }
      },
      query: async () => ({ held: [...held].map((name) => ({ name })), pending: [] }),
    } as unknown as LockManager;
    const { storage, backend } = await db.open({ locks });
    backend.failOnWrite(1, 'crash', (k) => k.startsWith('adapter:')); // dies at the commit, chunks written
    await expect(storage.saveAdapter(adapterFields(), loraTensors(1))).rejects.toThrow(/simulated crash/);
    expect([...held].every((n) => n.startsWith(`tabzero-write:${db.dbName}:`))).toBe(true);
    expect(held.size).toBe(1);
    const { storage: tab2 } = await db.open({ locks, sweep: false });
    expect((await tab2.sweepOrphans()).chunksDeleted).toBe(0); // lock still held: not garbage yet
    held.clear();
    release = true;
    expect((await tab2.sweepOrphans()).chunksDeleted).toBeGreaterThan(0);
    expect(chunkKeys(await db.raw().keys())).toEqual([]);
  });

  it('errors cross the worker boundary as {name, message, hint}', () => {
    const info = errorInfo(new StorageQuotaError('out of storage space while writing chunk 3/9', 1024));
    expect(info).toEqual({ name: 'StorageQuotaError', message: 'out of storage space while writing chunk 3/9', hint: expect.stringMatching(/free space/) });
    expect(errorInfo(new Error('x')).hint.length).toBeGreaterThan(0);
  });
});
