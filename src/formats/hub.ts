// The Hugging Face hub's file layout, `{endpoint}/{owner}/{name}/resolve/{revision}/{file}`: check
// repo ids, build URLs, fetch small text files (config, tokenizer, index), find a repo's weight
// files (sharded index first, then model.safetensors) and open them all as one ShardedModel.

import { fetchChecked, openHttpSource, requestHeaders, withRetry, type HttpOptions } from './http-source';
import { openShards, parseWeightIndex, type ShardedModel, type WeightIndex } from './shards';
import { SourceError } from './sources';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

export interface HubOptions extends HttpOptions {
  /** default https://huggingface.co (a mirror or a local test server also works) */
  endpoint?: string;
  /** branch, tag or commit (default "main") */
  revision?: string;
  signal?: AbortSignal;
}

const HINT_REPO = 'use the form owner/name, e.g. Qwen/Qwen2.5-1.5B-Instruct';
const NAME_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/** Checks a repo id is `owner/name` as the hub allows; returns it unchanged. */
export function validateRepoId(repo: string): string {
  const parts = typeof repo === 'string' ? repo.split('/') : [];
  if (parts.length !== 2) throw new SourceError('bad_repo_id', `repo id ${JSON.stringify(repo)} has ${parts.length} part(s), expected owner/name`, HINT_REPO);
  for (const p of parts) {
    if (p.length > 96 || !NAME_PART.test(p) || p.includes('--') || p.includes('..')) {
      throw new SourceError('bad_repo_id', `repo id ${JSON.stringify(repo)}: ${JSON.stringify(p)} must be 1–96 letters, digits, '-', '_' or '.', not start or end with '-' or '.', and have no '--' or '..'`, HINT_REPO);
    }
  }
  return repo;
}

function normalizeEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new SourceError('bad_url', `hub endpoint ${JSON.stringify(endpoint)} is not a URL`, `use an http(s) URL such as ${DEFAULT_ENDPOINT}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SourceError('bad_url', `hub endpoint ${endpoint}: protocol ${u.protocol} is not http(s)`, `use an http(s) URL such as ${DEFAULT_ENDPOINT}`);
  return endpoint.replace(/\/+$/, '');
}

/** `{endpoint}/{repo}/resolve/{revision}/{file}`, with the revision and each path segment escaped. */
export function hubFileUrl(repo: string, file: string, opts: Pick<HubOptions, 'endpoint' | 'revision'> = {}): string {
  validateRepoId(repo);
  const segments = file.split('/');
  if (file === '' || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new SourceError('bad_url', `file name ${JSON.stringify(file)} is not a relative path inside the repo`, 'pass a file name such as model.safetensors');
  }
  const revision = encodeURIComponent(opts.revision ?? 'main');
  return `${normalizeEndpoint(opts.endpoint ?? DEFAULT_ENDPOINT)}/${repo}/resolve/${revision}/${segments.map(encodeURIComponent).join('/')}`;
}

/** Downloads a small text file of a repo (config.json, tokenizer.json, the index). */
export async function fetchHubText(repo: string, file: string, opts: HubOptions = {}): Promise<string> {
  const url = hubFileUrl(repo, file, opts);
  const what = `GET ${url}`;
  return withRetry(opts, opts.signal, what, async () => {
    const res = await fetchChecked(url, { headers: requestHeaders(opts), signal: opts.signal }, opts, what);
    return res.text();
  });
}

export interface WeightFiles {
  /** shard file names, sorted; one entry for an unsharded model */
  files: string[];
  /** the parsed index, or null for a single model.safetensors */
  index: WeightIndex | null;
}

/** Finds a repo's weight files: model.safetensors.index.json if present, else model.safetensors. */
export async function listWeightFiles(repo: string, opts: HubOptions = {}): Promise<WeightFiles> {
  validateRepoId(repo);
  try {
    const index = parseWeightIndex(await fetchHubText(repo, INDEX_FILE, opts));
    return { files: index.files, index };
  } catch (e) {
    if (!(e instanceof SourceError && e.code === 'not_found')) throw e;
  }
  try {
    await openHttpSource(hubFileUrl(repo, SINGLE_FILE, opts), opts);
  } catch (e) {
    if (e instanceof SourceError && e.code === 'not_found') {
      throw new SourceError('no_weights', `${repo}@${opts.revision ?? 'main'} has neither ${INDEX_FILE} nor ${SINGLE_FILE} (HTTP 404)`, 'check the repo id and revision; TabZero needs safetensors weights (not .bin, .gguf or .onnx)', 404);
    }
    throw e;
  }
  return { files: [SINGLE_FILE], index: null };
}

export interface HubModel extends ShardedModel {
  repo: string;
  revision: string;
  files: WeightFiles;
}

/** Opens every weight file of a repo through HTTP Range reads and validates all headers. */
export async function openHubModel(repo: string, opts: HubOptions = {}): Promise<HubModel> {
  const files = await listWeightFiles(repo, opts);
  const entries = await Promise.all(files.files.map(async (file) => ({
    file,
    source: await openHttpSource(hubFileUrl(repo, file, opts), { ...opts, name: `${repo}/${file}` }),
  })));
  const model = await openShards(entries, files.index, { signal: opts.signal });
  return { ...model, repo, revision: opts.revision ?? 'main', files };
}
