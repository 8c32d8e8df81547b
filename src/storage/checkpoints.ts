// Training checkpoints per run: adapter tensors + AdamW m/v + optimizer step, RNG state, config and
// metrics so far. Saved with the atomic-replace protocol, pruned to the last K after each commit;
// loadLatestCheckpoint falls back to the newest checkpoint that verifies and reports what it skipped.

import type { StoreContext } from './context';
import { CorruptRecordError, StorageError, StorageNotFoundError, errorInfo, readError, type ErrorInfo } from './errors';
import { checkId, checkStep, ckptKey, ckptOwner, ckptRunPrefix } from './keys';
import { SCHEMA_VERSION, type CheckpointMeta, type CheckpointTensorRole, type JsonValue, type MetricRow } from './schema';
import { layoutTensors, readTensorSet, writeVersioned, type TensorInput } from './tensors';
import { asCheckpointMeta, referencedChunks } from './validate';

export interface CheckpointInput {
  step: number;
  adapter: Map<string, TensorInput>;
  /** AdamW state: m and v have the adapter's tensor names and sizes */
  optimizer: { step: number; m: Map<string, TensorInput>; v: Map<string, TensorInput> };
  rng: JsonValue;
  config: Record<string, unknown>;
  metrics: MetricRow[];
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  adapter: Map<string, Float32Array>;
  optimizer: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> };
}

export interface LatestCheckpoint {
  checkpoint: LoadedCheckpoint;
  /** true when newer checkpoints were damaged and an older one was loaded */
  fellBack: boolean;
  skipped: Array<{ key: string; step: number | null; error: ErrorInfo }>;
}

interface Listed { key: string; seq: number; step: number | null; meta?: CheckpointMeta; error?: StorageError }

const numel = (t: TensorInput): number => (t instanceof Float32Array ? t.length : t.data.length);

/** m and v must cover exactly the adapter's tensors with the same sizes (pure). */
export function checkOptimizerState(input: CheckpointInput): void {
  for (const [which, map] of [['m', input.optimizer.m], ['v', input.optimizer.v]] as const) {
    for (const [name, t] of input.adapter) {
      const o = map.get(name);
      if (!o || numel(o) !== numel(t)) {
        throw new StorageError(`checkpoint step ${input.step}: optimizer ${which} for '${name}' has ${o ? numel(o) : 'no'} values, adapter tensor has ${numel(t)}`,
          'save AdamW m and v for every adapter tensor, with the same shapes');
      }
    }
    if (map.size !== input.adapter.size) {
      throw new StorageError(`checkpoint step ${input.step}: optimizer ${which} has ${map.size} tensors, adapter has ${input.adapter.size}`,
        'optimizer state must cover exactly the adapter tensors');
    }
  }
}

/** Every checkpoint record of a run, valid or not, oldest commit first. */
async function listRaw(ctx: StoreContext, runId: string): Promise<Listed[]> {
  const prefix = ckptRunPrefix(checkId('run', runId));
  try {
    const keys = (await ctx.backend.keys()).filter((k) => k.startsWith(prefix));
    const raws = await ctx.backend.getMany(keys);
    const out = keys.map((key, i): Listed => {
      const step = Number(key.slice(prefix.length));
      try {
        const meta = asCheckpointMeta(key, raws[i]);
        return { key, seq: meta.seq, step: meta.step, meta };
      } catch (e) {
        const seq = (raws[i] as { seq?: unknown } | undefined)?.seq;
        return { key, seq: typeof seq === 'number' ? seq : -1, step: Number.isInteger(step) ? step : null, error: e as StorageError };
      }
    });
    return out.sort((a, b) => a.seq - b.seq);
  } catch (e) {
    throw readError(e, `listing checkpoints of run '${runId}'`);
  }
}

export async function listCheckpoints(ctx: StoreContext, runId: string): Promise<CheckpointMeta[]> {
  return (await listRaw(ctx, runId)).flatMap((l) => (l.meta ? [l.meta] : []));
}

/** Commits a checkpoint, then deletes all but the newest `keepLast` of the run (by commit order). */
export async function saveCheckpoint(ctx: StoreContext, runId: string, input: CheckpointInput, keepLast: number): Promise<CheckpointMeta> {
  checkId('run', runId);
  const step = checkStep(input.step);
  checkOptimizerState(input);
  const roles: Array<[CheckpointTensorRole, Map<string, TensorInput>]> = [['adapter', input.adapter], ['adam_m', input.optimizer.m], ['adam_v', input.optimizer.v]];
  const layout = layoutTensors(roles.flatMap(([, map]) => [...map]));
  const roleOf = roles.flatMap(([role, map]) => [...map.keys()].map(() => role));
  return ctx.serial(ckptRunPrefix(runId), async () => {
    const existing = await listRaw(ctx, runId);
    const seq = Math.max(0, ...existing.map((l) => l.seq)) + 1;
    const key = ckptKey(runId, step);
    const same = existing.find((l) => l.key === key);
    const oldChunks = same ? referencedChunks(same.meta ?? (await ctx.backend.get(key))) : [];
    const meta = await writeVersioned<CheckpointMeta>(ctx, {
      owner: ckptOwner(runId, step), pointerKey: key, layout, oldChunks, what: `checkpoint of run '${runId}' at step ${step}`,
      makePointer: (ref) => ({
        ...ref, tensors: ref.tensors.map((t, i) => ({ ...t, role: roleOf[i] })),
        schemaVersion: SCHEMA_VERSION, runId, step, seq, optimizerStep: input.optimizer.step,
        rng: input.rng, config: input.config, metrics: input.metrics, createdAt: ctx.now(),
      }),
    });
    const older = [...existing.filter((l) => l.key !== key), { key, seq } as Listed].sort((a, b) => b.seq - a.seq).slice(Math.max(1, keepLast));
    for (const l of older) await deleteByKey(ctx, l.key).catch((e: unknown) => console.warn(`[storage] pruning ${l.key} failed:`, e));
    return meta;
  });
}

async function deleteByKey(ctx: StoreContext, key: string): Promise<boolean> {
  const raw = await ctx.backend.get(key);
  if (raw === undefined) return false;
  await ctx.backend.del(key); // pointer first: never a pointer to missing chunks
  await ctx.backend.delMany(referencedChunks(raw)).catch(() => undefined); // leftovers: sweepOrphans
  return true;
}

async function loadFrom(ctx: StoreContext, key: string, meta: CheckpointMeta): Promise<LoadedCheckpoint> {
  const arrays = await readTensorSet(ctx, key, meta);
  const maps: Record<CheckpointTensorRole, Map<string, Float32Array>> = { adapter: new Map(), adam_m: new Map(), adam_v: new Map() };
  meta.tensors.forEach((t, i) => maps[t.role].set(t.name, arrays[i]));
  return { meta, adapter: maps.adapter, optimizer: { step: meta.optimizerStep, m: maps.adam_m, v: maps.adam_v } };
}

export async function loadCheckpoint(ctx: StoreContext, runId: string, step: number): Promise<LoadedCheckpoint> {
  const key = ckptKey(checkId('run', runId), checkStep(step));
  const raw = await ctx.backend.get(key).catch((e: unknown) => { throw readError(e, `reading ${key}`); });
  if (raw === undefined) throw new StorageNotFoundError('checkpoint', `${runId}@${step}`);
  return loadFrom(ctx, key, asCheckpointMeta(key, raw));
}

/** The newest checkpoint that verifies; null when the run has none. Throws when all are damaged. */
export async function loadLatestCheckpoint(ctx: StoreContext, runId: string): Promise<LatestCheckpoint | null> {
  const all = (await listRaw(ctx, runId)).reverse();
  if (all.length === 0) return null;
  const skipped: LatestCheckpoint['skipped'] = [];
  for (const l of all) {
    try {
      if (l.error) throw l.error;
      const checkpoint = await loadFrom(ctx, l.key, l.meta as CheckpointMeta);
      if (skipped.length > 0) console.warn(`[storage] run '${runId}': skipped ${skipped.length} damaged checkpoint(s), resuming from step ${checkpoint.meta.step}`);
      return { checkpoint, fellBack: skipped.length > 0, skipped };
    } catch (e) {
      if (!(e instanceof CorruptRecordError)) throw e;
      skipped.push({ key: l.key, step: l.step, error: errorInfo(e) });
    }
  }
  throw new CorruptRecordError(ckptRunPrefix(runId) + '*', `all ${all.length} checkpoints are damaged (${skipped.map((s) => s.error.message).join('; ')})`,
    'resume from the saved adapter instead, or delete the run and start again');
}

export async function deleteCheckpoint(ctx: StoreContext, runId: string, step: number): Promise<boolean> {
  const key = ckptKey(checkId('run', runId), checkStep(step));
  return ctx.serial(ckptRunPrefix(runId), () => deleteByKey(ctx, key));
}

/** Deletes every checkpoint of a run; returns how many. */
export async function deleteRunCheckpoints(ctx: StoreContext, runId: string): Promise<number> {
  return ctx.serial(ckptRunPrefix(runId), async () => {
    let n = 0;
    for (const l of await listRaw(ctx, runId)) if (await deleteByKey(ctx, l.key)) n++;
    return n;
  });
}
