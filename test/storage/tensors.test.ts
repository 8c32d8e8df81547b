// The atomic-replace protocol and integrity checks: a failed write (quota, crash, error on commit)
// never destroys the previous version; damaged chunks and records give CorruptRecordError.
import { describe, expect, it } from 'vitest';
import { CorruptRecordError, StorageError, StorageQuotaError } from '../../src/storage/errors';
import { indexProblem, layoutTensors, planChunks } from '../../src/storage/tensors';
import { adapterFields, bitsEqual, chunkKeys, loraTensors, seeded, testDb } from './helpers';

async function expectTensors(load: Promise<{ tensors: Map<string, Float32Array> }>, seed: number): Promise<void> {
  const { tensors } = await load;
  for (const [name, t] of loraTensors(seed)) expect(bitsEqual(tensors.get(name)!, t.data), name).toBe(true);
}

describe('layout (pure)', () => {
  it('lays tensors end to end and cuts the stream into chunks', () => {
    const l = layoutTensors([['a', seeded(3, 1)], ['b', { data: seeded(6, 2), shape: [2, 3] }]]);
    expect(l.entries.map((e) => [e.offset, e.byteLength, e.shape])).toEqual([[0, 12, [3]], [12, 24, [2, 3]]]);
    expect(planChunks(36, 16)).toEqual([[0, 16], [16, 32], [32, 36]]);
    expect(planChunks(0, 16)).toEqual([]);
    expect(indexProblem({ writeId: 'w', tensors: l.entries, totalBytes: 36, chunks: [{ key: 'k', byteLength: 36, checksum: 0 }] })).toBeNull();
    expect(indexProblem({ writeId: 'w', tensors: l.entries, totalBytes: 40, chunks: [] })).toMatch(/add up to 36 bytes, totalBytes says 40/);
  });
});

describe('atomic replace', () => {
  it('quota exceeded on chunk 3 of a new version: StorageQuotaError with hint, old version intact, no orphans', async () => {
    const { storage, backend } = await testDb().open();
    const v1 = await storage.saveAdapter(adapterFields(), loraTensors(1));
    backend.failOnWrite(3, 'quota');
    const err = await storage.updateAdapter(v1.id, loraTensors(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageQuotaError);
    const q = err as StorageQuotaError;
    expect(q.name).toBe('StorageQuotaError');
    expect(q.message).toMatch(/writing chunk 3\/\d+ of adapter 'countdown-r16' v2/);
    expect(q.hint).toMatch(/delete old adapters\/checkpoints.*persistent storage/);
    expect(q.bytesAttempted).toBe(v1.totalBytes);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(v1.chunks.map((c) => c.key).sort());
    expect((await storage.sweepOrphans()).chunksDeleted).toBe(0);
    const back = await storage.loadAdapter(v1.id);
    expect(back.meta.version).toBe(1);
    await expectTensors(Promise.resolve(back), 1);
  });

  it('quota exceeded on the very first save leaves nothing behind', async () => {
    const { storage, backend } = await testDb().open();
    backend.failOnWrite(2, 'quota');
    await expect(storage.saveAdapter(adapterFields(), loraTensors(1))).rejects.toBeInstanceOf(StorageQuotaError);
    expect(await storage.listAdapters()).toEqual([]);
    expect(chunkKeys(await backend.keys())).toEqual([]);
  });

  it('a failure committing the pointer keeps the old version and removes the new chunks', async () => {
    const { storage, backend } = await testDb().open();
    const v1 = await storage.saveAdapter(adapterFields(), loraTensors(1));
    backend.failOnWrite(1, 'error', (k) => k.startsWith('adapter:'));
    const err = await storage.updateAdapter(v1.id, loraTensors(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/committing adapter/);
    expect((err as StorageError).hint).toMatch(/previous version is kept/);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(v1.chunks.map((c) => c.key).sort());
    await expectTensors(storage.loadAdapter(v1.id), 1);
  });

  it('a crash after 2 chunk writes leaves orphans; reopening sweeps them and the old version loads', async () => {
    const db = testDb();
    const { storage, backend } = await db.open();
    const v1 = await storage.saveAdapter(adapterFields(), loraTensors(1));
    backend.failOnWrite(3, 'crash');
    await expect(storage.updateAdapter(v1.id, loraTensors(2))).rejects.toThrow(/simulated crash/);
    const raw = db.raw();
    expect(chunkKeys(await raw.keys()).length).toBe(v1.chunks.length + 2); // the tab died before cleanup

    const { storage: reopened } = await db.open();
    expect(reopened.openSweep.chunksDeleted).toBe(2);
    expect(chunkKeys(await raw.keys()).sort()).toEqual(v1.chunks.map((c) => c.key).sort());
    const back = await reopened.loadAdapter(v1.id);
    expect(back.meta.version).toBe(1);
    await expectTensors(Promise.resolve(back), 1);
  });
});

describe('integrity on load', () => {
  async function saved() {
    const db = testDb();
    const { storage } = await db.open();
    const meta = await storage.saveAdapter(adapterFields(), loraTensors(1));
    return { db, storage, meta, raw: db.raw() };
  }

  it('a flipped bit in a chunk gives CorruptRecordError naming the chunk and both checksums', async () => {
    const { storage, meta, raw } = await saved();
    const key = meta.chunks[2].key;
    const bytes = new Uint8Array((await raw.get(key)) as ArrayBuffer);
    bytes[100] ^= 0x10;
    await raw.set(key, bytes.buffer);
    const err = await storage.loadAdapter(meta.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptRecordError);
    const c = err as CorruptRecordError;
    expect(c.name).toBe('CorruptRecordError');
    expect(c.message).toMatch(new RegExp(`chunk 3/${meta.chunks.length} \\(${key}\\) checksum 0x[0-9a-f]{8} != 0x[0-9a-f]{8}`));
    expect(c.hint).toMatch(/older checkpoint or version/);
  });

  it('a missing or truncated chunk gives CorruptRecordError with the byte counts', async () => {
    const { storage, meta, raw } = await saved();
    await raw.set(meta.chunks[0].key, new ArrayBuffer(1000));
    await expect(storage.loadAdapter(meta.id)).rejects.toThrow(/has 1000 bytes, index says 1024/);
    const m2 = await storage.saveAdapter(adapterFields(), loraTensors(2));
    await raw.del(m2.chunks[1].key);
    await expect(storage.loadAdapter(m2.id)).rejects.toThrow(new RegExp(`chunk 2/\\d+ \\(${m2.chunks[1].key}\\) is missing`));
  });

  it('a malformed pointer record is skipped by listing and rejected by load', async () => {
    const { storage, meta, raw } = await saved();
    const other = await storage.saveAdapter(adapterFields('ok'), loraTensors(3));
    await raw.set(`adapter:${meta.id}`, { ...meta, r: 'sixteen' });
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      expect((await storage.listAdapters()).map((m) => m.id)).toEqual([other.id]);
    } finally {
      console.warn = warn;
    }
    await expect(storage.loadAdapter(meta.id)).rejects.toThrow(/field r should be number/);
    expect(await storage.deleteAdapter(meta.id)).toBe(true); // damaged records can still be deleted
  });
});
