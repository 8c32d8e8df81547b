// downloadInto against the hub stand-in, with an in-memory CacheWriter: a whole file; a connection cut
// mid-body resumes from the byte where it stopped (Range bytes=N-); bytes already cached are not asked
// again; a server that ignores Range restarts from zero; an abort keeps the partial bytes uncommitted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadInto } from '../../src/worker/hub-download';
import type { CacheWriter } from '../../src/storage/weight-cache';
import { hubFileUrl } from '../../src/formats/hub';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const SIZE = 300_000;
const DATA = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 9)) & 255);
let tmp: string;
let hub: HubServer;
let plain: HubServer;

class MemoryWriter implements CacheWriter {
  bytes: Uint8Array;
  committed = false;
  closed = false;
  constructor(prefix = new Uint8Array(0)) {
    this.bytes = prefix.slice();
  }
  get offset(): number { return this.bytes.byteLength; }
  write(b: Uint8Array): void {
    const next = new Uint8Array(this.bytes.byteLength + b.byteLength);
    next.set(this.bytes);
    next.set(b, this.bytes.byteLength);
    this.bytes = next;
  }
  reset(): void { this.bytes = new Uint8Array(0); }
  async commit(size: number): Promise<File> {
    expect(this.offset).toBe(size);
    this.committed = true;
    return new File([this.bytes as Uint8Array<ArrayBuffer>], 'f');
  }
  close(): void { this.closed = true; }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-dl-'));
  mkdirSync(join(tmp, 'o', 'r'), { recursive: true });
  writeFileSync(join(tmp, 'o', 'r', 'model.safetensors'), DATA);
  hub = await startHubServer({ root: tmp });
  plain = await startHubServer({ root: tmp, ignoreRange: true });
});
afterAll(async () => {
  await hub?.close();
  await plain?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const url = (s: HubServer) => hubFileUrl('o/r', 'model.safetensors', { endpoint: s.url });
const opts = { name: 'o/r/model.safetensors', backoffMs: 1 };
const gets = (s: HubServer, from: number) => s.requests.slice(from).filter((r) => r.method === 'GET');

describe('downloadInto', () => {
  it('downloads a whole file and reports every byte', async () => {
    const w = new MemoryWriter();
    let n = 0;
    const blob = await downloadInto(url(hub), SIZE, w, { ...opts, onBytes: (b) => { n += b; } });
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(DATA);
    expect(n).toBe(SIZE);
    expect(w.committed).toBe(true);
  });

  it('resumes after a connection cut mid-body, from the byte where it stopped', async () => {
    const before = hub.requests.length;
    hub.failNext({ method: 'GET', pathEndsWith: 'model.safetensors' }, 'reset');
    const w = new MemoryWriter();
    await downloadInto(url(hub), SIZE, w, opts);
    expect(w.bytes).toEqual(DATA);
    const [first, second] = gets(hub, before);
    expect(first.range).toBe(`bytes=0-${SIZE - 1}`);
    const resumedAt = Number(/bytes=(\d+)-/.exec(second.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThan(SIZE);
  });

  it('asks only for the bytes the cache lacks', async () => {
    const before = hub.requests.length;
    const w = new MemoryWriter(DATA.subarray(0, 123_456));
    await downloadInto(url(hub), SIZE, w, opts);
    expect(w.bytes).toEqual(DATA);
    expect(gets(hub, before).map((r) => r.range)).toEqual([`bytes=123456-${SIZE - 1}`]);
  });

  it('starts over when the server ignores Range, or when the cached part is longer than the file', async () => {
    const w = new MemoryWriter(DATA.subarray(0, 1000));
    await downloadInto(url(plain), SIZE, w, opts);
    expect(w.bytes).toEqual(DATA);
    const long = new MemoryWriter(new Uint8Array(SIZE + 5));
    await downloadInto(url(hub), SIZE, long, opts);
    expect(long.bytes).toEqual(DATA);
  });

  it('an abort throws SourceError aborted and commits nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const w = new MemoryWriter();
    await expect(downloadInto(url(hub), SIZE, w, { ...opts, signal: ac.signal })).rejects.toMatchObject({ name: 'SourceError', code: 'aborted' });
    expect(w.committed).toBe(false);
  });
});
