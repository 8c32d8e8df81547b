// A model split over several safetensors files ("shards") plus model.safetensors.index.json:
// parse and check the index, open every shard's header, and walk all tensors across shards
// one at a time with one progress count. Works for any ByteSource (hub, local folder, memory).

import { SafetensorsError, type SafetensorsHeader } from './safetensors';
import {
  iterateTensors, openSafetensors, SourceError, type ByteSource, type IterateOptions, type StreamedTensor,
} from './sources';

export interface WeightIndex {
  /** tensor name → shard file name */
  weightMap: Record<string, string>;
  /** the distinct shard files, sorted */
  files: string[];
  /** the index's "metadata" object, as found (e.g. total_size) */
  metadata: Record<string, unknown>;
}

const HINT_INDEX = 'model.safetensors.index.json is damaged; download the model again';

/** A shard name we will put in a URL or path: relative, no '..', ends in .safetensors. */
function checkShardName(file: string): void {
  const bad = file === '' || file.startsWith('/') || file.includes('\\') || file.split('/').some((s) => s === '..' || s === '.' || s === '')
    || !file.endsWith('.safetensors') || file.length > 255;
  if (bad) throw new SafetensorsError('bad_index', `weight_map names shard ${JSON.stringify(file.slice(0, 300))}, not a relative *.safetensors file name`, HINT_INDEX);
}

/** Parses model.safetensors.index.json text. */
export function parseWeightIndex(text: string): WeightIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('bad_index', `index is not valid JSON: ${(e as Error).message}`, HINT_INDEX);
  }
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(json) || !isObj(json.weight_map)) throw new SafetensorsError('bad_index', 'index has no "weight_map" object', HINT_INDEX);
  const weightMap = Object.fromEntries(Object.entries(json.weight_map)) as Record<string, string>;
  const files = new Set<string>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string') throw new SafetensorsError('bad_index', `weight_map[${JSON.stringify(name)}] is ${typeof file}, expected a file name`, HINT_INDEX);
    checkShardName(file);
    files.add(file);
  }
  if (files.size === 0) throw new SafetensorsError('bad_index', 'index weight_map is empty', HINT_INDEX);
  return { weightMap, files: [...files].sort(), metadata: isObj(json.metadata) ? json.metadata : {} };
}

export interface Shard {
  file: string;
  source: ByteSource;
  header: SafetensorsHeader;
}

export interface ShardedModel {
  shards: Shard[];
  /** tensor data bytes over all shards (what iterateShards reads) */
  totalBytes: number;
  tensorCount: number;
  /** safetensors __metadata__ of the first shard */
  metadata: Record<string, string>;
}

/** Checks the shards against each other and against the index: every tensor once, where promised. */
function checkShards(shards: Shard[], index: WeightIndex | null): void {
  const where = new Map<string, string>();
  for (const s of shards) {
    for (const t of s.header.tensors) {
      const prev = where.get(t.name);
      if (prev !== undefined) throw new SourceError('duplicate_tensor', `tensor ${JSON.stringify(t.name)} is in both ${prev} and ${s.file}`, 'the shards belong to different checkpoints; download the model again');
      where.set(t.name, s.file);
      const promised = index ? (Object.hasOwn(index.weightMap, t.name) ? index.weightMap[t.name] : undefined) : s.file;
      if (promised !== s.file) {
        throw new SourceError('index_mismatch', `tensor ${JSON.stringify(t.name)} is in ${s.file} but the index ${promised === undefined ? 'does not list it' : `puts it in ${promised}`}`, HINT_INDEX);
      }
    }
  }
  for (const [name, file] of index ? Object.entries(index.weightMap) : []) {
    if (!where.has(name)) throw new SourceError('index_mismatch', `the index puts tensor ${JSON.stringify(name)} in ${file}, but no shard has it`, HINT_INDEX);
  }
}

/** Opens the headers of all shards (in parallel) and checks them; `index` null for one file. */
export async function openShards(
  entries: { file: string; source: ByteSource }[], index: WeightIndex | null, opts: { signal?: AbortSignal } = {},
): Promise<ShardedModel> {
  if (index) {
    const given = entries.map((e) => e.file).sort().join(', ');
    if (given !== index.files.join(', ')) throw new SourceError('index_mismatch', `the index names shards [${index.files.join(', ')}] but got [${given}]`, 'open exactly the files the index names');
  }
  const headers = await Promise.all(entries.map((e) => openSafetensors(e.source, opts)));
  const shards = entries.map((e, i) => ({ file: e.file, source: e.source, header: headers[i] }));
  checkShards(shards, index);
  let totalBytes = 0;
  let tensorCount = 0;
  for (const s of shards) {
    const last = s.header.tensors[s.header.tensors.length - 1];
    totalBytes += last ? last.end : 0;
    tensorCount += s.header.tensors.length;
  }
  return { shards, totalBytes, tensorCount, metadata: shards[0]?.header.metadata ?? {} };
}

export interface ModelProgress {
  /** over all shards: data bytes read and tensors done */
  bytesDone: number;
  bytesTotal: number;
  tensorsDone: number;
  tensorsTotal: number;
  /** the shard being read (file name) and the tensor the last bytes belong to */
  file: string;
  tensor: string;
}

export interface ModelIterateOptions extends Omit<IterateOptions, 'onProgress'> {
  onProgress?: (p: ModelProgress) => void;
}

/** Yields every tensor of every shard, shard by shard, one at a time. */
export async function* iterateShards(model: ShardedModel, opts: ModelIterateOptions = {}): AsyncGenerator<StreamedTensor & { file: string }> {
  const pick = opts.filter;
  const chosen = model.shards.flatMap((s) => (pick ? s.header.tensors.filter(pick) : s.header.tensors));
  const bytesTotal = chosen.reduce((n, t) => n + t.end - t.begin, 0);
  let bytesBefore = 0;
  let tensorsBefore = 0;
  for (const shard of model.shards) {
    let last = { bytesDone: 0, tensorsDone: 0 };
    const onProgress = (p: { bytesDone: number; tensorsDone: number; tensor: string }) => {
      last = p;
      opts.onProgress?.({
        bytesDone: bytesBefore + p.bytesDone, bytesTotal,
        tensorsDone: tensorsBefore + p.tensorsDone, tensorsTotal: chosen.length,
        file: shard.file, tensor: p.tensor,
      });
    };
    for await (const t of iterateTensors(shard.source, shard.header, { ...opts, onProgress })) {
      yield { ...t, file: shard.file };
    }
    bytesBefore += last.bytesDone;
    tensorsBefore += last.tensorsDone;
  }
}

/** Closes every shard's source (file handles); safe to call twice. */
export async function closeShards(model: ShardedModel): Promise<void> {
  await Promise.all(model.shards.map((s) => s.source.close?.()));
}
