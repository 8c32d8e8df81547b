// Adapters in IndexedDB: save (version 1), update (new version, atomic replace), load with integrity
// checks, list (pointer records only, never chunks), rename, delete. Writes to one adapter are
// serialised in this tab; the pointer record `adapter:<id>` is the commit point.

import type { StoreContext } from './context';
import { StorageError, StorageNotFoundError, readError, writeError } from './errors';
import { ADAPTER_PREFIX, adapterKey, adapterOwner, checkId, newId } from './keys';
import { SCHEMA_VERSION, type AdapterFields, type AdapterMeta, type TensorSetRef } from './schema';
import { layoutTensors, readTensorSet, writeVersioned, type TensorInput } from './tensors';
import { asAdapterMeta, referencedChunks } from './validate';

export interface LoadedAdapter {
  meta: AdapterMeta;
  /** name → values; shapes are in meta.tensors */
  tensors: Map<string, Float32Array>;
}

/** Checks caller-supplied adapter fields (pure); throws StorageError naming the bad value. */
export function checkAdapterFields(f: Partial<AdapterFields>): void {
  const bad = (what: string, hint: string): never => { throw new StorageError(`invalid adapter ${what}`, hint); };
  if (f.name !== undefined && (typeof f.name !== 'string' || f.name.trim() === '' || f.name.length > 200)) {
    bad(`name ${JSON.stringify(f.name)}: expected 1–200 characters`, 'give the adapter a short non-empty name');
  }
  if (f.r !== undefined && (!Number.isSafeInteger(f.r) || f.r < 1)) bad(`r ${f.r}: expected an integer ≥ 1`, 'r is the LoRA rank, e.g. 16');
  if (f.alpha !== undefined && !Number.isFinite(f.alpha)) bad(`alpha ${f.alpha}`, 'alpha is lora_alpha, e.g. 32');
  if (f.step !== undefined && (!Number.isSafeInteger(f.step) || f.step < 0)) bad(`step ${f.step}: expected an integer ≥ 0`, 'step is the optimizer step the adapter was saved at');
  if (f.targetModules !== undefined && (!Array.isArray(f.targetModules) || !f.targetModules.every((m) => typeof m === 'string'))) {
    bad('targetModules: expected an array of strings', "e.g. ['q_proj', 'k_proj', 'v_proj']");
  }
}

async function readMeta(ctx: StoreContext, id: string): Promise<AdapterMeta> {
  const key = adapterKey(checkId('adapter', id));
  const raw = await ctx.backend.get(key).catch((e: unknown) => { throw readError(e, `reading adapter '${id}'`); });
  if (raw === undefined) throw new StorageNotFoundError('adapter', id);
  return asAdapterMeta(key, raw);
}

export async function saveAdapter(ctx: StoreContext, fields: AdapterFields, tensors: Map<string, TensorInput>): Promise<AdapterMeta> {
  checkAdapterFields(fields);
  const id = newId();
  const layout = layoutTensors(tensors);
  const t = ctx.now();
  return ctx.serial(adapterKey(id), () => writeVersioned<AdapterMeta>(ctx, {
    owner: adapterOwner(id), pointerKey: adapterKey(id), layout, oldChunks: [],
    what: `adapter '${fields.name}' v1`,
    makePointer: (ref: TensorSetRef) => ({ ...copyFields(fields), ...ref, schemaVersion: SCHEMA_VERSION, id, version: 1, createdAt: t, updatedAt: t }),
  }));
}

/** Writes new tensors (and optional field changes) as version+1; the old version survives any failure. */
export async function updateAdapter(ctx: StoreContext, id: string, tensors: Map<string, TensorInput>, patch: Partial<AdapterFields> = {}): Promise<AdapterMeta> {
  checkAdapterFields(patch);
  const layout = layoutTensors(tensors);
  return ctx.serial(adapterKey(id), async () => {
    const old = await readMeta(ctx, id);
    const version = old.version + 1;
    const merged = copyFields({ ...pickFields(old), ...patch });
    return writeVersioned<AdapterMeta>(ctx, {
      owner: adapterOwner(id), pointerKey: adapterKey(id), layout, oldChunks: old.chunks.map((c) => c.key),
      what: `adapter '${merged.name}' v${version}`,
      makePointer: (ref) => ({ ...merged, ...ref, schemaVersion: SCHEMA_VERSION, id, version, createdAt: old.createdAt, updatedAt: ctx.now() }),
    });
  });
}

export async function loadAdapter(ctx: StoreContext, id: string): Promise<LoadedAdapter> {
  const meta = await readMeta(ctx, id);
  const arrays = await readTensorSet(ctx, adapterKey(id), meta);
  return { meta, tensors: new Map(meta.tensors.map((t, i) => [t.name, arrays[i]])) };
}

/** Adapter pointer records, newest first; reads no chunks. Damaged records are skipped with a warning. */
export async function listAdapters(ctx: StoreContext): Promise<AdapterMeta[]> {
  try {
    const keys = (await ctx.backend.keys()).filter((k) => k.startsWith(ADAPTER_PREFIX));
    const raws = await ctx.backend.getMany(keys);
    const out: AdapterMeta[] = [];
    raws.forEach((raw, i) => {
      try { out.push(asAdapterMeta(keys[i], raw)); } catch (e) { console.warn(`[storage] skipping adapter record ${keys[i]}:`, e); }
    });
    return out.sort((a, b) => b.updatedAt - a.updatedAt);
  } catch (e) {
    throw readError(e, 'listing adapters');
  }
}

/** Changes the name only (a small pointer rewrite; version unchanged). */
export async function renameAdapter(ctx: StoreContext, id: string, name: string): Promise<AdapterMeta> {
  checkAdapterFields({ name });
  return ctx.serial(adapterKey(id), async () => {
    const meta = { ...(await readMeta(ctx, id)), name, updatedAt: ctx.now() };
    await ctx.backend.set(adapterKey(id), meta).catch((e: unknown) => { throw writeError(e, `renaming adapter '${id}'`, 0); });
    return meta;
  });
}

/** Removes the pointer, then the chunks; false when there was nothing to delete. Works on damaged records. */
export async function deleteAdapter(ctx: StoreContext, id: string): Promise<boolean> {
  const key = adapterKey(checkId('adapter', id));
  return ctx.serial(key, async () => {
    const raw = await ctx.backend.get(key).catch((e: unknown) => { throw readError(e, `reading adapter '${id}'`); });
    if (raw === undefined) return false;
    await ctx.backend.del(key).catch((e: unknown) => { throw writeError(e, `deleting adapter '${id}'`, 0); });
    await ctx.backend.delMany(referencedChunks(raw)).catch(() => undefined); // leftovers: sweepOrphans
    return true;
  });
}

function pickFields(m: AdapterMeta): AdapterFields {
  const { name, baseModelId, baseWeightsHash, r, alpha, targetModules, trainingConfig, step, metricSummary } = m;
  return { name, baseModelId, baseWeightsHash, r, alpha, targetModules, trainingConfig, step, metricSummary };
}

/** Copies only the known fields, so stray caller properties never reach the record. */
function copyFields(f: AdapterFields): AdapterFields {
  return {
    name: f.name, baseModelId: f.baseModelId, baseWeightsHash: f.baseWeightsHash, r: f.r, alpha: f.alpha,
    targetModules: [...f.targetModules], trainingConfig: f.trainingConfig, step: f.step, metricSummary: { ...f.metricSummary },
  };
}
