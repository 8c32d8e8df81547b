// A model's files, wherever they are: a local folder (browser File objects, or Node files in the CLI)
// or a Hugging Face repo through the browser weight cache. Gives config.json first (so memory can be
// checked before anything big is read), the weight shards with their sizes, small text files on
// demand, and open(): downloads what is missing into the cache, then opens every shard.
import { DEFAULT_ENDPOINT, fetchHubText, hubFileUrl, INDEX_FILE, SINGLE_FILE, validateRepoId, type HubOptions } from '../formats/hub';
import { openHttpSource } from '../formats/http-source';
import { BlobSource, SourceError, type ByteSource } from '../formats/sources';
import { openShards, parseWeightIndex, type ShardedModel, type WeightIndex } from '../formats/shards';
import { assertFreeSpace, freeStorage, type CacheKey, type WeightCache } from '../storage/weight-cache';
import { parseQwen2Config, type Qwen2Config } from '../model/config';
import { ConfigError } from '../model/errors';
import { downloadInto } from './hub-download';

export interface WeightFile {
  file: string;
  size: number;
  /** complete in the browser cache (or a local file): nothing to download */
  cached: boolean;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** weight bytes downloaded so far (resumed bytes included) of the total to fetch */
  onDownload?(p: { bytesDone: number; bytesTotal: number; file: string }): void;
}

export interface ModelFiles {
  /** repo id or folder name */
  name: string;
  /** where the weights come from now */
  origin: 'local' | 'cache' | 'network';
  configText: string;
  weights: WeightFile[];
  /** weight bytes open() still has to download (0 when local or cached) */
  downloadBytes: number;
  /** a small file's text, null when the model has no such file */
  text(file: string): Promise<string | null>;
  /** downloads what is missing (checking free space first) and opens every shard */
  open(opts?: OpenOptions): Promise<ShardedModel>;
}

/** One local file: its path inside the picked folder, its size, its text and its bytes. */
export interface LocalFile {
  path: string;
  size: number;
  text(): Promise<string>;
  source(): ByteSource | Promise<ByteSource>;
}

/** config.json text → Qwen2Config; ConfigError for bad JSON and unsupported models. */
export function parseConfigText(text: string): Qwen2Config {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config.json is not valid JSON (${text.length} characters): ${(e as Error).message}`, 'download the model again, or pick the folder of a transformers checkpoint');
  }
  return parseQwen2Config(json);
}

const HINT_FOLDER = 'pick the folder that holds config.json, tokenizer.json, tokenizer_config.json and the *.safetensors files';

/** Browser File objects (folder picker or drop) as LocalFiles; paths from webkitRelativePath when set. */
export function browserLocalFiles(files: File[]): LocalFile[] {
  return files.map((f) => ({ path: f.webkitRelativePath || f.name, size: f.size, text: () => f.text(), source: () => new BlobSource(f, f.name) }));
}

/** Files of a local folder; the shallowest file of each name wins (a folder may hold a sub-folder). */
export async function localModelFiles(all: LocalFile[], name?: string): Promise<ModelFiles> {
  const depth = (p: string) => p.split('/').length;
  const byName = new Map<string, LocalFile>();
  for (const f of [...all].sort((a, b) => depth(a.path) - depth(b.path))) {
    const base = f.path.slice(f.path.lastIndexOf('/') + 1);
    if (!byName.has(base)) byName.set(base, f);
  }
  const config = byName.get('config.json');
  if (!config) throw new SourceError('not_found', `the ${all.length} picked file(s) include no config.json`, HINT_FOLDER);
  const folder = name ?? (all[0]?.path.includes('/') ? all[0].path.split('/')[0] : 'local folder');
  let index: WeightIndex | null = null;
  let shards: string[];
  const indexFile = byName.get(INDEX_FILE);
  if (indexFile) {
    index = parseWeightIndex(await indexFile.text());
    shards = index.files;
  } else shards = byName.has(SINGLE_FILE) ? [SINGLE_FILE] : [...byName.keys()].filter((n) => n.endsWith('.safetensors')).sort();
  const missing = shards.filter((s) => !byName.has(s));
  if (!shards.length || missing.length) {
    throw new SourceError('no_weights', missing.length ? `${folder} lacks ${missing.length} weight file(s) the index names, e.g. ${missing[0]}` : `${folder} has no *.safetensors file`, HINT_FOLDER);
  }
  return {
    name: folder,
    origin: 'local',
    configText: await config.text(),
    weights: shards.map((file) => ({ file, size: byName.get(file)!.size, cached: true })),
    downloadBytes: 0,
    text: async (file) => (await byName.get(file)?.text()) ?? null,
    open: async (opts = {}) => {
      const entries = await Promise.all(shards.map(async (file) => ({ file, source: await byName.get(file)!.source() })));
      return openShards(entries, index, { signal: opts.signal });
    },
  };
}

export interface HubSpec {
  repo: string;
  revision?: string;
  endpoint?: string;
  token?: string;
}

export interface HubFilesOptions {
  /** the browser weight cache; null streams straight from the network (Node, or no OPFS) */
  cache: WeightCache | null;
  signal?: AbortSignal;
  /** store what is fetched (the worker); the UI's preview only reads */
  write?: boolean;
  fetch?: typeof fetch;
  /** retries of a failed request (default 4; the UI's preview uses 1 to fail fast) */
  retries?: number;
}

export function cacheKey(spec: HubSpec): CacheKey {
  return { endpoint: (spec.endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, ''), repo: spec.repo, revision: spec.revision || 'main' };
}

/** A hub repo's files: from a complete cache entry without any request, else config + file list from the network. */
export async function hubModelFiles(spec: HubSpec, o: HubFilesOptions): Promise<ModelFiles> {
  validateRepoId(spec.repo);
  const key = cacheKey(spec);
  const hub: HubOptions = { endpoint: key.endpoint, revision: key.revision, token: spec.token || undefined, signal: o.signal, fetch: o.fetch, retries: o.retries };
  const cache = o.cache;
  const write = !!(o.write && cache?.canWrite);
  const manifest = await cache?.manifest(key);
  const absent = new Set(manifest?.absent ?? []);
  const text = async (file: string): Promise<string | null> => {
    const hit = await cache?.readText(key, file);
    if (hit != null) return hit;
    if (absent.has(file)) return null;
    try {
      const t = await fetchHubText(spec.repo, file, hub);
      if (write) await cache!.putText(key, file, t);
      return t;
    } catch (e) {
      if (!(e instanceof SourceError && e.code === 'not_found')) throw e;
      absent.add(file);
      return null;
    }
  };
  const configText = await text('config.json');
  if (configText === null) throw new SourceError('not_found', `${spec.repo}@${key.revision} has no config.json`, 'check the repo id and revision; TabZero needs a transformers model repo (config.json + *.safetensors)', 404);
  const listed = manifest ? { files: manifest.weights, index: manifest.indexed ? await text(INDEX_FILE) : null } : await listHubWeights(spec.repo, hub, text);
  const index = listed.index === null ? null : parseWeightIndex(listed.index);
  const weights: WeightFile[] = await Promise.all(listed.files.map(async (w) => ({ ...w, cached: !!(await cache?.get(key, w.file)) })));
  const partial = await Promise.all(weights.map((w) => (w.cached ? w.size : cache?.partialBytes(key, w.file) ?? 0)));
  const downloadBytes = weights.reduce((n, w, i) => n + w.size - Math.min(w.size, partial[i]), 0);
  return {
    name: spec.repo,
    origin: weights.every((w) => w.cached) ? 'cache' : 'network',
    configText,
    weights,
    downloadBytes,
    text,
    open: async (opts = {}) => {
      const entries = write
        ? await downloadAll(cache!, key, spec, weights, downloadBytes, hub, opts)
        : await Promise.all(weights.map(async (w) => ({ file: w.file, source: await streamOrCached(cache, key, spec.repo, w.file, hub) })));
      const model = await openShards(entries, index, { signal: opts.signal });
      if (write) await cache!.putManifest(key, { weights: weights.map(({ file, size }) => ({ file, size })), indexed: index !== null, absent: [...absent], savedAt: Date.now() });
      return model;
    },
  };
}

/** model.safetensors.index.json's shards, else model.safetensors; sizes from HEAD requests. */
async function listHubWeights(repo: string, hub: HubOptions, text: (f: string) => Promise<string | null>): Promise<{ files: { file: string; size: number }[]; index: string | null }> {
  const indexText = await text(INDEX_FILE);
  const names = indexText === null ? [SINGLE_FILE] : parseWeightIndex(indexText).files;
  try {
    const files = await Promise.all(names.map(async (file) => ({ file, size: (await openHttpSource(hubFileUrl(repo, file, hub), hub)).size })));
    return { files, index: indexText };
  } catch (e) {
    if (e instanceof SourceError && e.code === 'not_found' && indexText === null) {
      throw new SourceError('no_weights', `${repo}@${hub.revision ?? 'main'} has neither ${INDEX_FILE} nor ${SINGLE_FILE} (HTTP 404)`, 'check the repo id and revision; TabZero needs safetensors weights (not .bin, .gguf or .onnx)', 404);
    }
    throw e;
  }
}

async function streamOrCached(cache: WeightCache | null, key: CacheKey, repo: string, file: string, hub: HubOptions): Promise<ByteSource> {
  const hit = await cache?.get(key, file);
  return hit ? new BlobSource(hit, file) : openHttpSource(hubFileUrl(repo, file, hub), { ...hub, name: `${repo}/${file}` });
}

/** Downloads every incomplete shard into the cache (free space checked first), with one progress count. */
async function downloadAll(cache: WeightCache, key: CacheKey, spec: HubSpec, weights: WeightFile[], need: number, hub: HubOptions, opts: OpenOptions): Promise<{ file: string; source: ByteSource }[]> {
  assertFreeSpace(need, await freeStorage(), `downloading ${spec.repo}`);
  let done = 0;
  const out: { file: string; source: ByteSource }[] = [];
  for (const w of weights) {
    const hit = w.cached ? await cache.get(key, w.file) : null;
    if (hit) {
      out.push({ file: w.file, source: new BlobSource(hit, w.file) });
      continue;
    }
    const writer = await cache.writer(key, w.file);
    try {
      const report = () => opts.onDownload?.({ bytesDone: done, bytesTotal: need, file: w.file });
      report();
      const blob = await downloadInto(hubFileUrl(spec.repo, w.file, hub), w.size, writer, {
        ...hub, signal: opts.signal, name: `${spec.repo}/${w.file}`,
        onBytes: (n) => { done += n; report(); },
      });
      out.push({ file: w.file, source: new BlobSource(blob, w.file) });
    } finally {
      writer.close();
    }
  }
  return out;
}
