// Tests for src/formats/http-source.ts, shards.ts and hub.ts against a local hub stand-in
// (test/helpers/hub-server.ts on 127.0.0.1): the fixture model and a 2-shard split of it download
// tensor by tensor through Range requests and match the file on disk; retries resume mid-tensor;
// abort, 401/403/404 and servers without Range support fail with their codes and hints.

import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHttpSource } from '../../src/formats/http-source';
import { fetchHubText, hubFileUrl, listWeightFiles, openHubModel, validateRepoId } from '../../src/formats/hub';
import { readSafetensors, writeSafetensors, type Dtype } from '../../src/formats/safetensors';
import { iterateShards, type ModelProgress, type ShardedModel } from '../../src/formats/shards';
import { SourceError } from '../../src/formats/sources';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const FIXTURE = 'test/fixtures/reference-tiny/model';
const modelBytes = new Uint8Array(readFileSync(`${FIXTURE}/model.safetensors`));
const reference = readSafetensors(modelBytes).tensors;
const FAST = { retries: 3, backoffMs: 1 };

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.byteLength !== b.byteLength) return Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** root/{Qwen/tiny: the fixture, org/sharded: a 2-shard split, org/badindex, org/empty}. */
function makeHubFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'tabzero-hub-'));
  const put = (path: string, data: Uint8Array | string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), data);
  };
  put('Qwen/tiny/model.safetensors', modelBytes);
  put('Qwen/tiny/config.json', readFileSync(`${FIXTURE}/config.json`));
  const names = [...reference.keys()];
  const toWrite = (n: string) => ({ name: n, dtype: reference.get(n)!.info.dtype as Dtype, shape: reference.get(n)!.info.shape, data: reference.get(n)!.bytes });
  const shardFiles = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const halves = [names.slice(0, 13), names.slice(13)];
  const weightMap: Record<string, string> = {};
  halves.forEach((h, i) => {
    put(`org/sharded/${shardFiles[i]}`, writeSafetensors(h.map(toWrite), { format: 'pt' }));
    for (const n of h) weightMap[n] = shardFiles[i];
  });
  const total = [...reference.values()].reduce((s, t) => s + t.bytes.byteLength, 0);
  put('org/sharded/model.safetensors.index.json', JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  for (const f of shardFiles) put(`org/badindex/${f}`, readFileSync(join(root, 'org/sharded', f)));
  put('org/badindex/model.safetensors.index.json', JSON.stringify({ weight_map: { ...weightMap, [names[0]]: shardFiles[1] } }));
  put('org/empty/README.md', 'no weights here');
  return root;
}

async function download(model: ShardedModel, opts: Parameters<typeof iterateShards>[1] = {}) {
  const got = new Map<string, Uint8Array>();
  for await (const t of iterateShards(model, opts)) got.set(t.info.name, t.bytes);
  return got;
}

function expectSameAsDisk(got: Map<string, Uint8Array>): void {
  expect(got.size).toBe(reference.size);
  for (const [name, ref] of reference) expect(firstDiff(got.get(name) ?? new Uint8Array(0), ref.bytes), name).toBe(-1);
}

let root: string;
let server: HubServer;
beforeAll(async () => {
  root = makeHubFolder();
  server = await startHubServer({ root });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
const hub = () => ({ endpoint: server.url, ...FAST });

describe('hub URLs and repo ids', () => {
  it('builds resolve URLs with escaped revision and path segments', () => {
    expect(hubFileUrl('Qwen/Qwen2.5-1.5B-Instruct', 'model.safetensors')).toBe('https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct/resolve/main/model.safetensors');
    expect(hubFileUrl('a/b', 'sub dir/x.json', { endpoint: 'http://h:1/', revision: 'refs/pr/1' })).toBe('http://h:1/a/b/resolve/refs%2Fpr%2F1/sub%20dir/x.json');
    expect(() => hubFileUrl('a/b', '../secret')).toThrow(SourceError);
    expect(() => hubFileUrl('a/b', 'x', { endpoint: 'ftp://x' })).toThrow(/http/);
  });

  it.each(['gpt2', 'a/b/c', '/b', 'a/', 'a b/c', 'a/-b', 'a/b.', 'a/b--c', 'a/b..c', `a/${'x'.repeat(97)}`])('rejects repo id %j', (id) => {
    const err = (() => { try { validateRepoId(id); } catch (e) { return e; } })();
    expect(err).toMatchObject({ code: 'bad_repo_id' });
    expect((err as SourceError).hint).toContain('owner/name');
  });

  it('accepts real ids', () => {
    for (const id of ['Qwen/Qwen2.5-1.5B-Instruct', 'unsloth/Qwen2.5-1.5B-Instruct-bnb-4bit', 'a/b', 'x_1/y.z']) expect(validateRepoId(id)).toBe(id);
  });
});

describe('HttpSource', () => {
  it('learns the size with HEAD and reads exact ranges with 206 responses, reporting bytes', async () => {
    let received = 0;
    const url = hubFileUrl('Qwen/tiny', 'model.safetensors', hub());
    const src = await openHttpSource(url, { ...FAST, onBytes: (n) => (received += n) });
    expect(src.size).toBe(modelBytes.byteLength);
    expect(firstDiff(await src.read(5000, 12345), modelBytes.subarray(5000, 17345))).toBe(-1);
    expect(received).toBe(12345);
    const log = server.requests.filter((r) => r.path.endsWith('/Qwen/tiny/resolve/main/model.safetensors')).slice(-2);
    expect(log.map((r) => [r.method, r.range, r.status])).toEqual([['HEAD', null, 200], ['GET', 'bytes=5000-17344', 206]]);
  });

  it('resumes a range cut mid-body from the byte where it stopped', async () => {
    const src = await openHttpSource(hubFileUrl('Qwen/tiny', 'model.safetensors', hub()), FAST);
    server.failNext({ method: 'GET', pathEndsWith: '/model.safetensors' }, 'reset');
    const before = server.requests.length;
    expect(firstDiff(await src.read(8, 200_000), modelBytes.subarray(8, 200_008))).toBe(-1);
    const gets = server.requests.slice(before);
    expect(gets[0]).toMatchObject({ range: 'bytes=8-200007', failed: 'reset' });
    expect(gets.length).toBe(2);
    const resumedAt = Number(/bytes=(\d+)-/.exec(gets[1].range!)![1]);
    expect(resumedAt).toBeGreaterThan(8); // not restarted from the beginning
    expect(gets[1].range).toBe(`bytes=${resumedAt}-200007`);
  });

  it('retries a 500 and a 429, and gives up after `retries` with the status in the error', async () => {
    const src = await openHttpSource(hubFileUrl('Qwen/tiny', 'model.safetensors', hub()), FAST);
    server.failNext({ method: 'GET' }, 'status500');
    server.failNext({ method: 'GET' }, 'status429');
    expect(firstDiff(await src.read(0, 100), modelBytes.subarray(0, 100))).toBe(-1);
    for (let i = 0; i < 4; i++) server.failNext({ method: 'GET' }, 'status500');
    await expect(src.read(0, 100)).rejects.toMatchObject({ code: 'http_status', status: 500, message: expect.stringContaining('after 4 attempts') });
  });

  it('failRequest(n) fails exactly the n-th request', async () => {
    const src = await openHttpSource(hubFileUrl('Qwen/tiny', 'model.safetensors', hub()), FAST);
    const n = server.requests.length + 1;
    server.failRequest(n, 'status500');
    expect(firstDiff(await src.read(10, 10), modelBytes.subarray(10, 20))).toBe(-1);
    expect(server.requests.slice(n - 1).map((r) => r.status)).toEqual([500, 206]);
  });

  it('aborts a request that hangs', async () => {
    const src = await openHttpSource(hubFileUrl('Qwen/tiny', 'model.safetensors', hub()), FAST);
    server.failNext({ method: 'GET' }, 'hang');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    await expect(src.read(0, 1000, ac.signal)).rejects.toMatchObject({ code: 'aborted' });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('404 is not_found with a hint, and is not retried', async () => {
    const before = server.requests.length;
    const err = await openHttpSource(hubFileUrl('Qwen/tiny', 'missing.safetensors', hub()), FAST).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'not_found', status: 404 });
    expect((err as SourceError).hint).toMatch(/repo id/);
    expect(server.requests.length - before).toBe(1);
  });

  it('a server that ignores Range serves offset 0 but fails clearly elsewhere', async () => {
    const plain = await startHubServer({ root, ignoreRange: true });
    try {
      const src = await openHttpSource(hubFileUrl('Qwen/tiny', 'model.safetensors', { endpoint: plain.url }), FAST);
      expect(firstDiff(await src.read(0, 64), modelBytes.subarray(0, 64))).toBe(-1);
      const err = await src.read(64, 64).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'range_ignored' });
      expect((err as SourceError).hint).toMatch(/download the file/);
    } finally {
      await plain.close();
    }
  });
});

describe('hub models', () => {
  it('downloads the single-file fixture tensor by tensor, with progress, equal to the file on disk', async () => {
    const model = await openHubModel('Qwen/tiny', hub());
    expect(model.files).toMatchObject({ files: ['model.safetensors'], index: null });
    expect(model.tensorCount).toBe(26);
    const progress: ModelProgress[] = [];
    const before = server.requests.length;
    expectSameAsDisk(await download(model, { chunkBytes: 50_000, onProgress: (p) => progress.push(p) }));
    expect(progress.at(-1)).toMatchObject({ bytesDone: model.totalBytes, bytesTotal: model.totalBytes, tensorsDone: 26, file: 'model.safetensors' });
    const gets = server.requests.slice(before);
    expect(gets.every((r) => r.method === 'GET' && r.status === 206 && r.range !== null)).toBe(true);
    expect(await fetchHubText('Qwen/tiny', 'config.json', hub())).toContain('"Qwen2ForCausalLM"');
  });

  it('sharded repo: reads the index, opens both shards, iterates across them', async () => {
    const files = await listWeightFiles('org/sharded', hub());
    expect(files.files).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(files.index?.metadata.total_size).toBe([...reference.values()].reduce((s, t) => s + t.bytes.byteLength, 0));
    const model = await openHubModel('org/sharded', hub());
    expect(model.shards.map((s) => s.header.tensors.length)).toEqual([13, 13]);
    const progress: ModelProgress[] = [];
    expectSameAsDisk(await download(model, { onProgress: (p) => progress.push(p) }));
    expect(new Set(progress.map((p) => p.file)).size).toBe(2);
    progress.reduce((prev, p) => (expect(p.bytesDone).toBeGreaterThan(prev), p.bytesDone), 0);
    expect(progress.at(-1)).toMatchObject({ bytesDone: model.totalBytes, tensorsDone: 26, tensorsTotal: 26 });
  });

  it('an index that misplaces a tensor is index_mismatch', async () => {
    await expect(openHubModel('org/badindex', hub())).rejects.toMatchObject({ code: 'index_mismatch' });
  });

  it('a repo without weights is no_weights; a missing file is not_found', async () => {
    await expect(openHubModel('org/empty', hub())).rejects.toMatchObject({ code: 'no_weights' });
    await expect(fetchHubText('org/empty', 'config.json', hub())).rejects.toMatchObject({ code: 'not_found' });
  });

  it('aborting mid-download stops with code aborted', async () => {
    const model = await openHubModel('Qwen/tiny', hub());
    const ac = new AbortController();
    const run = download(model, { signal: ac.signal, chunkBytes: 4096, onProgress: (p) => { if (p.tensorsDone >= 2) ac.abort(); } });
    await expect(run).rejects.toMatchObject({ name: 'SourceError', code: 'aborted' });
  });

  it('resumes a shard download after an injected connection reset', async () => {
    const model = await openHubModel('org/sharded', hub());
    server.failNext({ method: 'GET', pathEndsWith: 'model-00001-of-00002.safetensors' }, 'reset');
    const before = server.requests.length;
    expectSameAsDisk(await download(model));
    expect(server.requests.slice(before).some((r) => r.failed === 'reset')).toBe(true);
  });

  it('gated repo: 401 without a token (hint about access tokens), works with it; 403 has its own code', async () => {
    const gated = await startHubServer({ root, token: 'hf_secret' });
    try {
      const err = await openHubModel('Qwen/tiny', { endpoint: gated.url, ...FAST }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'unauthorized', status: 401 });
      expect((err as SourceError).hint).toMatch(/token/);
      const wrong = await openHubModel('Qwen/tiny', { endpoint: gated.url, token: 'hf_wrong', ...FAST }).catch((e: unknown) => e);
      expect((wrong as SourceError).hint).toMatch(/rejected/);
      const model = await openHubModel('Qwen/tiny', { endpoint: gated.url, token: 'hf_secret', ...FAST });
      expectSameAsDisk(await download(model));
      expect(gated.requests.filter((r) => r.status < 400).every((r) => r.auth === 'Bearer hf_secret')).toBe(true);
      gated.failNext({ method: 'GET' }, 'status403');
      await expect(download(model)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    } finally {
      await gated.close();
    }
  });
});
