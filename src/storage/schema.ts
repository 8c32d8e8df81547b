// Versioned record shapes kept in IndexedDB: adapters, checkpoints, runs, and the tensor index they
// share. Tensors live in separate chunk records (≤ chunkBytes each); metas hold only small fields.
// SCHEMA_VERSION is stored once per database; MIGRATIONS upgrade an older database at open.

import type { StorageBackend } from './backend';
import { SchemaVersionError, StorageError } from './errors';

export const SCHEMA_VERSION = 1;

/** Any value that survives JSON.stringify/parse (config, RNG state). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** One step's scalar metrics, e.g. {step: 3, reward: 0.4, kl: 0.01}. */
export type MetricRow = Record<string, number>;

/** One tensor inside a packed tensor set. All tensors of a set are laid end to end in one byte
 *  stream (in index order) that is cut into chunks; `offset` is the tensor's start in that stream. */
export interface TensorEntry {
  name: string;
  dtype: 'F32';
  shape: number[];
  byteLength: number;
  offset: number;
}

/** One stored chunk of the byte stream: its key, size and checksum32 (see checksum.ts). */
export interface ChunkRef {
  key: string;
  byteLength: number;
  checksum: number;
}

/** Where a tensor set's bytes are: shared by adapters and checkpoints. */
export interface TensorSetRef {
  /** unique per write; also names the chunk keys (see keys.ts) */
  writeId: string;
  tensors: TensorEntry[];
  chunks: ChunkRef[];
  totalBytes: number;
}

/** The fields a caller supplies when saving an adapter. */
export interface AdapterFields {
  name: string;
  baseModelId: string;
  /** hash of the base weights the adapter was trained on (caller-defined string) */
  baseWeightsHash: string;
  r: number;
  alpha: number;
  targetModules: string[];
  trainingConfig: Record<string, unknown>;
  step: number;
  metricSummary: Record<string, number>;
}

/** Pointer record of one adapter: switching it is the atomic commit of a new version. */
export interface AdapterMeta extends AdapterFields, TensorSetRef {
  schemaVersion: number;
  id: string;
  /** 1 for the first save; +1 for each updateAdapter (tensor rewrite); rename keeps it */
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type CheckpointTensorRole = 'adapter' | 'adam_m' | 'adam_v';

export interface CheckpointTensorEntry extends TensorEntry {
  role: CheckpointTensorRole;
}

/** Pointer record of one checkpoint (one per run and step). */
export interface CheckpointMeta extends TensorSetRef {
  schemaVersion: number;
  runId: string;
  step: number;
  /** commit order within the run (1, 2, …): "latest" and keep-last-K follow it, not the step */
  seq: number;
  tensors: CheckpointTensorEntry[];
  /** AdamW step count (bias correction) */
  optimizerStep: number;
  /** opaque RNG state so sampling resumes identically */
  rng: JsonValue;
  config: Record<string, unknown>;
  /** per-step metrics up to this step */
  metrics: MetricRow[];
  createdAt: number;
}

export type RunStatus = 'created' | 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

export interface SampleRecord {
  step: number;
  prompt: string;
  completion: string;
  rewards: Record<string, number>;
  total: number;
  /** reward errors by function name (a custom function threw, returned NaN or timed out) */
  errors?: Record<string, string>;
}

/** An append-only log kept as pages of `pageSize` rows under their own keys. Rows [0, rows) were
 *  ever appended; pages before `firstPage` were dropped (samples keep only the newest `cap`). */
export interface PagedLog {
  pageSize: number;
  rows: number;
  firstPage: number;
  /** 0 = keep everything */
  cap: number;
}

/** The fields a caller supplies when saving a run. */
export interface RunFields {
  name: string;
  adapterId: string | null;
  config: Record<string, unknown>;
  status: RunStatus;
}

/** Small head record of a run (what listRuns returns); rows live in pages. */
export interface RunSummary extends RunFields {
  schemaVersion: number;
  id: string;
  metricsLog: PagedLog;
  samplesLog: PagedLog;
  createdAt: number;
  updatedAt: number;
}

/** A run with its rows assembled (what loadRun returns). */
export interface RunRecord extends RunSummary {
  metrics: MetricRow[];
  /** the newest samples, at most samplesLog.cap */
  samples: SampleRecord[];
}

/** Database-level record: which schema the stored records follow. */
export interface SchemaRecord {
  schemaVersion: number;
}

/** Upgrades every record of a database from version `from` to `from + 1`. */
export interface Migration {
  from: number;
  describe: string;
  run(backend: StorageBackend): Promise<void>;
}

/** Migrations in order; empty while SCHEMA_VERSION is 1. Add {from: 1, …} together with version 2. */
export const MIGRATIONS: readonly Migration[] = [];

/** The migrations that take a database from `found` to `target`, in order (pure). */
export function planMigrations(found: number, target: number, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  if (!Number.isInteger(found) || found < 1 || found > target) throw new SchemaVersionError(found, target);
  const plan: Migration[] = [];
  for (let v = found; v < target; v++) {
    const m = migrations.find((x) => x.from === v);
    if (!m) {
      throw new StorageError(`no migration from storage schema ${v} to ${v + 1} (database is at ${found}, build wants ${target})`,
        'this build cannot read the stored data; export adapters with the older version, or use a fresh dbName');
    }
    plan.push(m);
  }
  return plan;
}

/** Brings a database to `target`: stamps a fresh one, runs migrations on an older one, refuses a newer
 *  one. The version is written after each migration step, so an interrupted upgrade resumes. */
export async function migrateDatabase(
  backend: StorageBackend, schemaKey: string, migrations: readonly Migration[] = MIGRATIONS, target = SCHEMA_VERSION,
): Promise<{ from: number; to: number }> {
  const raw = (await backend.get(schemaKey)) as Partial<SchemaRecord> | undefined;
  const found = raw === undefined ? target : raw.schemaVersion;
  if (typeof found !== 'number') throw new SchemaVersionError(Number.NaN, target);
  if (found > target) throw new SchemaVersionError(found, target);
  let v = found;
  for (const m of planMigrations(found, target, migrations)) {
    await m.run(backend);
    v = m.from + 1;
    await backend.set(schemaKey, { schemaVersion: v } satisfies SchemaRecord);
  }
  if (raw === undefined) await backend.set(schemaKey, { schemaVersion: target } satisfies SchemaRecord);
  return { from: found, to: v };
}
