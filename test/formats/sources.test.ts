// Tests for src/formats/sources.ts and node-source.ts: memory, Blob and file sources agree;
// openSafetensors reads only the header; iterateTensors yields whole tensors one at a time in
// bounded reads, with progress, filters and abort.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openFileSource } from '../../src/formats/node-source';
import { readSafetensors, SafetensorsError, writeSafetensors } from '../../src/formats/safetensors';
import {
  BlobSource, iterateTensors, MemorySource, openSafetensors, SourceError, type ByteSource, type TensorProgress,
} from '../../src/formats/sources';

const MODEL = 'test/fixtures/reference-tiny/model/model.safetensors';
const modelBytes = new Uint8Array(readFileSync(MODEL));

/** Wraps a source and records every read. */
function counting(inner: ByteSource): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    name: inner.name, size: inner.size, reads,
    read: (offset, length, signal) => {
      reads.push([offset, length]);
      return inner.read(offset, length, signal);
    },
  };
}

/** Index of the first differing byte, -1 when equal (fast; toEqual on big typed arrays is slow). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return i;
  return -1;
}

async function collect(src: ByteSource, opts: Parameters<typeof iterateTensors>[2] = {}) {
  const header = await openSafetensors(src);
  const out = new Map<string, Uint8Array>();
  for await (const t of iterateTensors(src, header, opts)) out.set(t.info.name, t.bytes);
  return out;
}

describe('byte sources', () => {
  it('memory, Blob and file sources return the same bytes', async () => {
    const fileSrc = await openFileSource(MODEL);
    const blobSrc = new BlobSource(new File([modelBytes], 'model.safetensors'));
    expect(blobSrc.name).toBe('model.safetensors');
    for (const src of [new MemorySource(modelBytes), blobSrc, fileSrc]) {
      expect(src.size).toBe(modelBytes.byteLength);
      expect(await src.read(1000, 77)).toEqual(modelBytes.slice(1000, 1077));
      expect((await src.read(src.size, 0)).byteLength).toBe(0);
      await expect(src.read(src.size - 4, 8)).rejects.toMatchObject({ code: 'out_of_range' });
    }
    await fileSrc.close();
    await fileSrc.close(); // idempotent
  });

  it('a missing file is not_found with a hint', async () => {
    const err = await openFileSource('test/fixtures/nope.safetensors').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ code: 'not_found' });
    expect((err as SourceError).hint).toMatch(/path/);
  });
});

describe('openSafetensors', () => {
  it('reads exactly the 8-byte prefix and the N header bytes', async () => {
    const src = counting(new MemorySource(modelBytes));
    const header = await openSafetensors(src);
    expect(src.reads).toEqual([[0, 8], [8, header.headerSize]]);
    expect(header.tensors.length).toBe(26);
  });

  it('refuses an oversized length prefix without reading it', async () => {
    const bad = modelBytes.slice();
    new DataView(bad.buffer).setBigUint64(0, 200_000_000n, true);
    const src = counting(new MemorySource(bad, 'bad.safetensors'));
    const err = await openSafetensors(src).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err).toMatchObject({ code: 'header_too_large' });
    expect(src.reads).toEqual([[0, 8]]);
  });

  it('names the source in validation errors', async () => {
    const err = await openSafetensors(new MemorySource(modelBytes.subarray(0, modelBytes.byteLength - 1), 'cut.safetensors')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'truncated' });
    expect((err as Error).message).toMatch(/^cut\.safetensors: .*1 missing/);
  });

  it('tiny files: too_small and truncated_header', async () => {
    await expect(openSafetensors(new MemorySource(new Uint8Array(3)))).rejects.toMatchObject({ code: 'too_small' });
    const f = new Uint8Array(12);
    f[0] = 100;
    await expect(openSafetensors(new MemorySource(f))).rejects.toMatchObject({ code: 'truncated_header' });
  });
});

describe('iterateTensors', () => {
  const reference = readSafetensors(modelBytes).tensors;

  it('yields every tensor once, in file order, equal to the in-memory reader', async () => {
    const src = counting(new MemorySource(modelBytes));
    const got = await collect(src);
    expect([...got.keys()]).toEqual(readSafetensors(modelBytes).header.tensors.map((t) => t.name));
    for (const [name, bytes] of got) expect(firstDiff(bytes, reference.get(name)!.bytes), name).toBe(-1);
  });

  it('keeps every read within chunkBytes, splitting big tensors and batching small ones', async () => {
    const src = counting(new MemorySource(modelBytes));
    const progress: TensorProgress[] = [];
    const got = await collect(src, { chunkBytes: 10_000, onProgress: (p) => progress.push(p) });
    const dataReads = src.reads.slice(2);
    expect(Math.max(...dataReads.map((r) => r[1]))).toBeLessThanOrEqual(10_000);
    const unbatched = [...reference.values()].reduce((n, t) => n + Math.max(1, Math.ceil(t.bytes.byteLength / 10_000)), 0);
    expect(dataReads.length).toBeLessThan(unbatched); // small neighbours shared reads
    for (const [name, bytes] of got) expect(firstDiff(bytes, reference.get(name)!.bytes), name).toBe(-1);
    const total = progress[0].bytesTotal;
    expect(total).toBe(modelBytes.byteLength - readSafetensors(modelBytes).header.dataOffset);
    progress.reduce((prev, p) => (expect(p.bytesDone).toBeGreaterThan(prev), p.bytesDone), 0);
    expect(progress.at(-1)).toMatchObject({ bytesDone: total, tensorsDone: 26, tensorsTotal: 26 });
    expect(progress.filter((p) => p.tensor === 'model.embed_tokens.weight').length).toBe(14); // 131072 B in 10 kB pieces
  });

  it('filter reads only the chosen tensors', async () => {
    const src = counting(new MemorySource(modelBytes));
    let last: TensorProgress | undefined;
    const got = await collect(src, { filter: (t) => t.name.endsWith('k_proj.weight'), onProgress: (p) => (last = p) });
    expect([...got.keys()]).toEqual(['model.layers.0.self_attn.k_proj.weight', 'model.layers.1.self_attn.k_proj.weight']);
    expect(src.reads.slice(2).reduce((s, r) => s + r[1], 0)).toBe(2 * 32 * 64 * 2);
    expect(last).toMatchObject({ bytesDone: 8192, bytesTotal: 8192, tensorsDone: 2 });
  });

  it('stops with code aborted when the signal fires between tensors', async () => {
    const ac = new AbortController();
    const src = new MemorySource(modelBytes);
    const header = await openSafetensors(src);
    const seen: string[] = [];
    const run = async () => {
      for await (const t of iterateTensors(src, header, { signal: ac.signal, chunkBytes: 4096 })) {
        seen.push(t.info.name);
        if (seen.length === 3) ac.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: 'SourceError', code: 'aborted' });
    expect(seen.length).toBe(3);
  });

  it('refuses a header that belongs to another file', async () => {
    const other = writeSafetensors([{ name: 'a', dtype: 'U8', shape: [3], data: new Uint8Array(3) }]);
    const header = await openSafetensors(new MemorySource(other));
    const gen = iterateTensors(new MemorySource(modelBytes), header);
    await expect(gen.next()).rejects.toMatchObject({ code: 'header_mismatch' });
  });

  it('zero-size tensors come out empty without trouble', async () => {
    const f = writeSafetensors([
      { name: 'e', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      { name: 'x', dtype: 'U8', shape: [2], data: Uint8Array.of(7, 8) },
    ]);
    const got = await collect(new MemorySource(f), { chunkBytes: 1 });
    expect(got.get('e')!.byteLength).toBe(0);
    expect(Array.from(got.get('x')!)).toEqual([7, 8]);
  });
});
