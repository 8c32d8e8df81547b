// `tabzero inspect <file|dir|repo>`: what a checkpoint holds without loading it — the config summary,
// tensor count, dtypes (count and bytes), total bytes, quantization and the completeness check —
// reading only headers (local .safetensors file, a model folder, or a Hugging Face repo by Range reads).
import { parseArgs } from 'node:util';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { openFileSource } from '../formats/node-source';
import { openShards, parseWeightIndex, closeShards, type ShardedModel } from '../formats/shards';
import { SourceError } from '../formats/sources';
import { fetchHubText, openHubModel, validateRepoId, type HubOptions } from '../formats/hub';
import { checkCheckpointTensors, parseQwen2Config, type Qwen2Config } from '../model/config';
import { formatBytes } from '../model/memory';

export interface InspectOptions {
  /** hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co) */
  endpoint?: string;
  revision?: string;
  /** hub access token (default: $HF_TOKEN) */
  token?: string;
}

interface Opened {
  model: ShardedModel;
  /** config.json text, or null when there is none */
  configText: string | null;
  configWhere: string;
}

/** A report on a checkpoint, as printed by `tabzero inspect`. Throws SourceError / SafetensorsError. */
export async function inspect(target: string, opts: InspectOptions = {}): Promise<string> {
  const opened = await open(target, opts);
  try {
    return report(target, opened);
  } finally {
    await closeShards(opened.model);
  }
}

async function open(target: string, opts: InspectOptions): Promise<Opened> {
  const st = await stat(target).catch(() => null);
  if (st?.isFile()) {
    const model = await openFiles(dirname(target), [basename(target)], null);
    const cfg = join(dirname(target), 'config.json');
    return { model, configText: await readFile(cfg, 'utf8').catch(() => null), configWhere: cfg };
  }
  if (st?.isDirectory()) return openFolder(target);
  if (/^[^/\\.][^/\\]*\/[^/\\]+$/.test(target) && !target.endsWith('.safetensors')) {
    validateRepoId(target);
    const hub: HubOptions = { endpoint: opts.endpoint ?? process.env.HF_ENDPOINT, revision: opts.revision, token: opts.token ?? process.env.HF_TOKEN };
    const [model, configText] = await Promise.all([openHubModel(target, hub), fetchHubText(target, 'config.json', hub).catch(notFoundIsNull)]);
    return { model, configText, configWhere: `${target}/config.json` };
  }
  throw new SourceError('not_found', `${target}: no such file or folder, and not a hub repo id (owner/name)`,
    'pass a .safetensors file, a folder with config.json and *.safetensors, or a Hugging Face repo id such as Qwen/Qwen2.5-1.5B-Instruct');
}

function notFoundIsNull(e: unknown): null {
  if (e instanceof SourceError && e.code === 'not_found') return null;
  throw e;
}

async function openFolder(dir: string): Promise<Opened> {
  const names = await readdir(dir);
  const configText = names.includes('config.json') ? await readFile(join(dir, 'config.json'), 'utf8') : null;
  const configWhere = join(dir, 'config.json');
  if (names.includes('model.safetensors.index.json')) {
    const index = parseWeightIndex(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
    return { model: await openFiles(dir, index.files, index), configText, configWhere };
  }
  const files = names.includes('model.safetensors') ? ['model.safetensors'] : names.filter((n) => n.endsWith('.safetensors')).sort();
  if (!files.length) throw new SourceError('no_weights', `${dir} has no *.safetensors file`, 'point at the folder holding config.json and the model\'s .safetensors files');
  return { model: await openFiles(dir, files, null), configText, configWhere };
}

async function openFiles(dir: string, files: string[], index: Parameters<typeof openShards>[1]): Promise<ShardedModel> {
  const entries: { file: string; source: Awaited<ReturnType<typeof openFileSource>> }[] = [];
  try {
    for (const file of files) entries.push({ file, source: await openFileSource(join(dir, file)) });
    return await openShards(entries, index);
  } catch (e) {
    await Promise.all(entries.map((x) => x.source.close()));
    throw e;
  }
}

function report(target: string, o: Opened): string {
  const lines: string[] = [`source: ${target}`];
  const tensors = o.model.shards.flatMap((s) => s.header.tensors);
  lines.push(`files: ${o.model.shards.length} (${o.model.shards.map((s) => s.file).join(', ')})`);
  let config: Qwen2Config | null = null;
  if (o.configText === null) lines.push(`config: none (no ${o.configWhere})`);
  else {
    try {
      config = parseQwen2Config(JSON.parse(o.configText));
      lines.push(`config: ${summary(config)}`);
    } catch (e) {
      const err = e as { name?: string; message?: string };
      lines.push(`config: invalid — ${err.name ?? 'Error'}: ${err.message ?? String(e)}`);
    }
  }
  lines.push(`quantization: ${config ? quantization(config) : 'unknown (no valid config)'}`);
  const byDtype = new Map<string, { count: number; bytes: number }>();
  for (const t of tensors) {
    const d = byDtype.get(t.dtype) ?? { count: 0, bytes: 0 };
    d.count++;
    d.bytes += t.end - t.begin;
    byDtype.set(t.dtype, d);
  }
  lines.push(`tensors: ${tensors.length}, ${formatBytes(o.model.totalBytes)} (${o.model.totalBytes} bytes)`);
  lines.push(`dtypes: ${[...byDtype].sort((a, b) => b[1].bytes - a[1].bytes).map(([d, v]) => `${d} ×${v.count} (${formatBytes(v.bytes)})`).join(', ')}`);
  if (config) {
    const problems = checkCheckpointTensors(config, tensors);
    if (!problems.length) lines.push('check: complete — every tensor the config needs is present with the right shape and dtype');
    else {
      lines.push(`check: ${problems.length} problem${problems.length > 1 ? 's' : ''}`);
      for (const p of problems.slice(0, 10)) lines.push(`  - ${p.message}`);
      if (problems.length > 10) lines.push(`  … and ${problems.length - 10} more`);
      lines.push(`  hint: ${problems[0].hint}`);
    }
  }
  return lines.join('\n');
}

function summary(c: Qwen2Config): string {
  return `qwen2, ${c.numLayers} layers, hidden ${c.hiddenSize}, intermediate ${c.intermediateSize}, ` +
    `heads ${c.numHeads} (kv ${c.numKvHeads}, head dim ${c.headDim}), vocab ${c.vocabSize}, ` +
    `${c.tieWordEmbeddings ? 'tied' : 'untied'} embeddings, rope theta ${c.ropeTheta}, max positions ${c.maxPositionEmbeddings}` +
    (c.torchDtype ? `, ${c.torchDtype}` : '');
}

function quantization(c: Qwen2Config): string {
  const q = c.quantization;
  if (!q) return 'none (16/32-bit weights; quantized to 4-bit at load when asked)';
  return `bitsandbytes NF4, blocks of ${q.blockSize}, double quant ${q.doubleQuant ? 'on' : 'off'}, compute dtype ${q.computeDtype}` +
    (q.skipModules.length ? `, kept 16-bit: ${q.skipModules.join(', ')}` : '');
}

/** `tabzero inspect <file|dir|repo> [--endpoint URL] [--revision REV]` */
export async function runInspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { endpoint: { type: 'string' }, revision: { type: 'string' } } });
  if (positionals.length !== 1) {
    throw Object.assign(new Error(`inspect takes one file, folder or repo id, got ${positionals.length}`), {
      name: 'UsageError', hint: 'usage: tabzero inspect <file.safetensors | folder | owner/name> [--endpoint URL] [--revision REV]',
    });
  }
  console.log(await inspect(positionals[0], { endpoint: values.endpoint, revision: values.revision }));
  return 0;
}
