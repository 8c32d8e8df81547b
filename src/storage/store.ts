// openStorage(): the one entry point of storage/. Opens (or creates) the IndexedDB database, checks
// and migrates its schema, sweeps orphaned chunks, and returns the Storage API over adapters,
// checkpoints, runs, usage and quota. Browser-only APIs (navigator.storage, Web Locks) are optional.

import * as adapters from './adapters';
import { idbBackend, type StorageBackend } from './backend';
import * as checkpoints from './checkpoints';
import { makeContext } from './context';
import { StorageError, readError } from './errors';
import { ADAPTER_PREFIX, CKPT_PREFIX, RUN_PREFIX, SCHEMA_KEY } from './keys';
import * as runs from './runs';
import { MIGRATIONS, migrateDatabase, type AdapterFields, type AdapterMeta, type CheckpointMeta, type Migration, type MetricRow, type RunFields, type RunRecord, type RunSummary, type SampleRecord } from './schema';
import { sweepOrphans, type SweepReport } from './sweep';
import type { TensorInput } from './tensors';

export type { LoadedAdapter } from './adapters';
export type { CheckpointInput, LatestCheckpoint, LoadedCheckpoint } from './checkpoints';
export type { StorageBackend } from './backend';
export type { SweepReport } from './sweep';
export type { TensorInput } from './tensors';

/** The subset of navigator.storage used here (injectable for tests). */
export interface StorageManagerLike {
  estimate?(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface OpenStorageOptions {
  /** IndexedDB database name (default 'tabzero') */
  dbName?: string;
  /** IndexedDB factory (default: the global indexedDB); ignored when `backend` is given */
  indexedDB?: IDBFactory;
  /** replaces the IndexedDB backend entirely (tests wrap one to inject failures) */
  backend?: StorageBackend;
  /** largest chunk record in bytes (default 64 MiB; tests use ~1 KiB) */
  chunkBytes?: number;
  /** read chunks back before committing (default true) */
  verifyWrites?: boolean;
  /** checkpoints kept per run after each save (default 3) */
  keepCheckpoints?: number;
  runLog?: Partial<runs.RunLogOptions>;
  /** sweep orphaned chunks at open (default true) */
  sweep?: boolean;
  migrations?: readonly Migration[];
  now?: () => number;
  /** Web Locks (default navigator.locks when present; null disables) */
  locks?: LockManager | null;
  /** default navigator.storage when present */
  storageManager?: StorageManagerLike | null;
}

export interface UsageReport {
  adapters: { count: number; bytes: number };
  checkpoints: { count: number; bytes: number };
  runs: { count: number };
  /** tensor bytes referenced by our records (small records not counted) */
  totalBytes: number;
}

export interface QuotaEstimate {
  usage: number;
  quota: number;
  persisted: boolean | null;
}

export interface Storage {
  readonly dbName: string;
  /** what the sweep at open removed (zeros when sweep was off) */
  readonly openSweep: SweepReport;
  saveAdapter(fields: AdapterFields, tensors: Map<string, TensorInput>): Promise<AdapterMeta>;
  updateAdapter(id: string, tensors: Map<string, TensorInput>, patch?: Partial<AdapterFields>): Promise<AdapterMeta>;
  loadAdapter(id: string): Promise<adapters.LoadedAdapter>;
  listAdapters(): Promise<AdapterMeta[]>;
  renameAdapter(id: string, name: string): Promise<AdapterMeta>;
  deleteAdapter(id: string): Promise<boolean>;
  saveCheckpoint(runId: string, ckpt: checkpoints.CheckpointInput, opts?: { keepLast?: number }): Promise<CheckpointMeta>;
  loadCheckpoint(runId: string, step: number): Promise<checkpoints.LoadedCheckpoint>;
  loadLatestCheckpoint(runId: string): Promise<checkpoints.LatestCheckpoint | null>;
  listCheckpoints(runId: string): Promise<CheckpointMeta[]>;
  deleteCheckpoint(runId: string, step: number): Promise<boolean>;
  saveRun(run: RunFields & { id?: string }): Promise<RunSummary>;
  updateRun(id: string, patch: Partial<RunFields>): Promise<RunSummary>;
  loadRun(id: string): Promise<RunRecord>;
  listRuns(): Promise<RunSummary[]>;
  appendRunMetrics(id: string, rows: MetricRow[], samples?: SampleRecord[]): Promise<RunSummary>;
  /** deletes the run and (unless checkpoints: false) its checkpoints */
  deleteRun(id: string, opts?: { checkpoints?: boolean }): Promise<boolean>;
  usage(): Promise<UsageReport>;
  estimateQuota(): Promise<QuotaEstimate | null>;
  requestPersistence(): Promise<boolean>;
  sweepOrphans(): Promise<SweepReport>;
}

function checkKeep(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new StorageError(`keepLast must be an integer ≥ 1, got ${n}`, 'keep at least the newest checkpoint, e.g. 3');
  }
  return n;
}

function defaultStorageManager(): StorageManagerLike | null {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return nav?.storage ?? null;
}

export async function openStorage(opts: OpenStorageOptions = {}): Promise<Storage> {
  const dbName = opts.dbName ?? 'tabzero';
  const backend = opts.backend ?? idbBackend({ dbName, indexedDB: opts.indexedDB });
  const ctx = makeContext({ backend, dbName, chunkBytes: opts.chunkBytes, verifyWrites: opts.verifyWrites, now: opts.now, locks: opts.locks });
  const keepDefault = checkKeep(opts.keepCheckpoints ?? 3);
  const runLog: runs.RunLogOptions = { ...runs.DEFAULT_RUN_LOG, ...opts.runLog };
  const sm = opts.storageManager === undefined ? defaultStorageManager() : opts.storageManager;

  try {
    await migrateDatabase(backend, SCHEMA_KEY, opts.migrations ?? MIGRATIONS);
  } catch (e) {
    if (e instanceof StorageError) throw e;
    throw readError(e, `opening database '${dbName}'`);
  }
  const openSweep = opts.sweep === false ? { chunksDeleted: 0, pagesDeleted: 0 } : await sweepOrphans(ctx);

  const usage = async (): Promise<UsageReport> => {
    const keys = await backend.keys().catch((e: unknown) => { throw readError(e, 'measuring usage'); });
    const a = keys.filter((k) => k.startsWith(ADAPTER_PREFIX));
    const c = keys.filter((k) => k.startsWith(CKPT_PREFIX));
    const metas = await backend.getMany([...a, ...c]);
    const bytes = (vs: unknown[]): number => vs.reduce<number>((s, v) => s + ((v as { totalBytes?: unknown })?.totalBytes as number || 0), 0);
    const ab = bytes(metas.slice(0, a.length));
    const cb = bytes(metas.slice(a.length));
    return {
      adapters: { count: a.length, bytes: ab }, checkpoints: { count: c.length, bytes: cb },
      runs: { count: keys.filter((k) => k.startsWith(RUN_PREFIX)).length }, totalBytes: ab + cb,
    };
  };

  return {
    dbName, openSweep,
    saveAdapter: (f, t) => adapters.saveAdapter(ctx, f, t),
    updateAdapter: (id, t, p) => adapters.updateAdapter(ctx, id, t, p),
    loadAdapter: (id) => adapters.loadAdapter(ctx, id),
    listAdapters: () => adapters.listAdapters(ctx),
    renameAdapter: (id, name) => adapters.renameAdapter(ctx, id, name),
    deleteAdapter: (id) => adapters.deleteAdapter(ctx, id),
    saveCheckpoint: (runId, ck, o) => checkpoints.saveCheckpoint(ctx, runId, ck, checkKeep(o?.keepLast ?? keepDefault)),
    loadCheckpoint: (runId, step) => checkpoints.loadCheckpoint(ctx, runId, step),
    loadLatestCheckpoint: (runId) => checkpoints.loadLatestCheckpoint(ctx, runId),
    listCheckpoints: (runId) => checkpoints.listCheckpoints(ctx, runId),
    deleteCheckpoint: (runId, step) => checkpoints.deleteCheckpoint(ctx, runId, step),
    saveRun: (r) => runs.saveRun(ctx, r, runLog),
    updateRun: (id, p) => runs.updateRun(ctx, id, p),
    loadRun: (id) => runs.loadRun(ctx, id),
    listRuns: () => runs.listRuns(ctx),
    appendRunMetrics: (id, rows, samples) => runs.appendRunMetrics(ctx, id, rows, samples),
    deleteRun: async (id, o) => {
      const existed = await runs.deleteRun(ctx, id);
      const n = o?.checkpoints === false ? 0 : await checkpoints.deleteRunCheckpoints(ctx, id);
      return existed || n > 0;
    },
    usage,
    estimateQuota: async () => {
      if (!sm?.estimate) return null;
      const est = await sm.estimate();
      const persisted = sm.persisted ? await sm.persisted().catch(() => null) : null;
      return { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
    },
    requestPersistence: async () => (sm?.persist ? sm.persist().catch(() => false) : false),
    sweepOrphans: () => sweepOrphans(ctx),
  };
}
