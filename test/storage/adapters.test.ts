// Adapters: bit-identical round trips over many chunks, listing without chunk reads, rename, update
// (versions), delete, and the real 64 MiB chunk limit.
import { describe, expect, it } from 'vitest';
import { StorageError, StorageNotFoundError } from '../../src/storage/errors';
import { adapterFields, bitsEqual, chunkKeys, loraTensors, seeded, testDb } from './helpers';

describe('adapters', () => {
  it('round-trips several tensors bit-identically across 1 KiB chunks (NaN payload, -0, subnormal, Inf)', async () => {
    const { storage, backend } = await testDb().open();
    const tensors = loraTensors(1);
    const meta = await storage.saveAdapter(adapterFields(), tensors);
    const totalBytes = [...tensors.values()].reduce((s, t) => s + t.data.byteLength, 0);
    expect(meta.totalBytes).toBe(totalBytes);
    expect(meta.chunks.length).toBe(Math.ceil(totalBytes / 1024));
    expect(meta.chunks.every((c) => c.byteLength <= 1024)).toBe(true);
    expect(meta.version).toBe(1);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(meta.chunks.map((c) => c.key).sort());

    const { meta: m2, tensors: back } = await storage.loadAdapter(meta.id);
    expect(m2).toEqual(meta);
    expect([...back.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(bitsEqual(back.get(name)!, t.data), name).toBe(true);
      expect(m2.tensors.find((e) => e.name === name)!.shape).toEqual(t.shape);
    }
  });

  it('stores a bare Float32Array with shape [length], and a subarray view correctly', async () => {
    const { storage } = await testDb().open();
    const big = seeded(600, 5);
    const view = big.subarray(7, 7 + 300);
    const meta = await storage.saveAdapter(adapterFields(), new Map([['v', view], ['empty', new Float32Array(0)]]));
    expect(meta.tensors.map((t) => t.shape)).toEqual([[300], [0]]);
    const back = await storage.loadAdapter(meta.id);
    expect(bitsEqual(back.tensors.get('v')!, view)).toBe(true);
    expect(back.tensors.get('empty')!.length).toBe(0);
  });

  it('rejects a shape that does not match the data, naming the tensor', async () => {
    const { storage } = await testDb().open();
    const bad = new Map([['w', { data: new Float32Array(6), shape: [4, 2] }]]);
    await expect(storage.saveAdapter(adapterFields(), bad)).rejects.toThrow(/tensor 'w' has shape \[4, 2\] \(8 elements\) but 6 values/);
    await expect(storage.saveAdapter({ ...adapterFields(), r: 0 }, loraTensors(1))).rejects.toBeInstanceOf(StorageError);
  });

  it('lists adapters from pointer records only: no chunk is ever read', async () => {
    const { storage, backend } = await testDb().open();
    await storage.saveAdapter(adapterFields('a'), loraTensors(1));
    await storage.saveAdapter(adapterFields('b'), loraTensors(2));
    backend.reads = [];
    const list = await storage.listAdapters();
    expect(list.map((m) => m.name).sort()).toEqual(['a', 'b']);
    expect(backend.reads.length).toBe(2);
    expect(backend.reads.filter((k) => k.startsWith('chunk:'))).toEqual([]);
  });

  it('renames without rewriting tensors or bumping the version', async () => {
    let t = 1000;
    const { storage, backend } = await testDb().open({ now: () => t++ });
    const meta = await storage.saveAdapter(adapterFields('old'), loraTensors(1));
    backend.writes = [];
    const renamed = await storage.renameAdapter(meta.id, 'new name');
    expect(backend.writes).toEqual([`adapter:${meta.id}`]);
    expect(renamed.name).toBe('new name');
    expect(renamed.version).toBe(1);
    expect(renamed.updatedAt).toBeGreaterThan(meta.updatedAt);
    expect((await storage.listAdapters())[0].name).toBe('new name');
    expect((await storage.loadAdapter(meta.id)).meta.name).toBe('new name');
  });

  it('updates to a new version, keeps createdAt, and deletes the old chunks after the commit', async () => {
    const { storage, backend } = await testDb().open();
    const v1 = await storage.saveAdapter(adapterFields(), loraTensors(1));
    const v2 = await storage.updateAdapter(v1.id, loraTensors(7), { step: 20, metricSummary: { reward: 0.8 } });
    expect(v2.version).toBe(2);
    expect(v2.step).toBe(20);
    expect(v2.createdAt).toBe(v1.createdAt);
    expect(v2.name).toBe(v1.name);
    expect(v2.writeId).not.toBe(v1.writeId);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(v2.chunks.map((c) => c.key).sort());
    const back = await storage.loadAdapter(v1.id);
    for (const [name, t] of loraTensors(7)) expect(bitsEqual(back.tensors.get(name)!, t.data)).toBe(true);
  });

  it('deletes the pointer and every chunk; missing ids give StorageNotFoundError with a hint', async () => {
    const { storage, backend } = await testDb().open();
    const keep = await storage.saveAdapter(adapterFields('keep'), loraTensors(3));
    const gone = await storage.saveAdapter(adapterFields('gone'), loraTensors(4));
    expect(await storage.deleteAdapter(gone.id)).toBe(true);
    expect(await storage.deleteAdapter(gone.id)).toBe(false);
    expect(chunkKeys(await backend.keys()).sort()).toEqual(keep.chunks.map((c) => c.key).sort());
    expect((await storage.listAdapters()).map((m) => m.id)).toEqual([keep.id]);
    const err = await storage.loadAdapter(gone.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageNotFoundError);
    expect((err as StorageNotFoundError).hint).toMatch(/list/);
    await expect(storage.renameAdapter(gone.id, 'x')).rejects.toBeInstanceOf(StorageNotFoundError);
  });

  it('splits a tensor of 64 MiB + 4 bytes at the real 64 MiB chunk size and reads it back', async () => {
    const { storage } = await testDb().open({ chunkBytes: undefined, verifyWrites: false });
    const n = 16 * 1024 * 1024 + 1;
    const big = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) big[i] = i;
    big[n - 1] = -3.5;
    const meta = await storage.saveAdapter(adapterFields('big'), new Map([['big', big], ['small', seeded(5, 1)]]));
    expect(meta.chunks.map((c) => c.byteLength)).toEqual([64 * 1024 * 1024, 4 + 20]);
    const back = await storage.loadAdapter(meta.id);
    expect(bitsEqual(back.tensors.get('big')!, big)).toBe(true);
    expect(bitsEqual(back.tensors.get('small')!, seeded(5, 1))).toBe(true);
  }, 60_000);
});
