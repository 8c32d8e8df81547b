// Checks that small records read back from IndexedDB have the shape schema.ts promises, so a damaged
// or foreign record becomes a CorruptRecordError naming the key and the field, not a crash later.

import { CorruptRecordError, SchemaVersionError } from './errors';
import { SCHEMA_VERSION, type AdapterMeta, type CheckpointMeta, type RunSummary } from './schema';

type Obj = Record<string, unknown>;
type Kind = 'string' | 'number' | 'object' | 'array' | 'string|null';

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function kindOk(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'object': return isObj(v);
    case 'array': return Array.isArray(v);
    case 'string|null': return v === null || typeof v === 'string';
    default: { const never: never = kind; return never; }
  }
}

/** Throws CorruptRecordError unless each field of `o` has its kind. */
function need(key: string, o: unknown, fields: Record<string, Kind>, where = ''): Obj {
  if (!isObj(o)) throw new CorruptRecordError(key, `${where || 'record'} is ${o === undefined ? 'missing' : 'not an object'}`);
  for (const [f, kind] of Object.entries(fields)) {
    if (!kindOk(o[f], kind)) throw new CorruptRecordError(key, `field ${where}${f} should be ${kind}, found ${JSON.stringify(o[f])?.slice(0, 60)}`);
  }
  return o;
}

function checkVersion(key: string, o: Obj): void {
  const v = o.schemaVersion;
  if (typeof v === 'number' && v > SCHEMA_VERSION) throw new SchemaVersionError(v, SCHEMA_VERSION);
  if (v !== SCHEMA_VERSION) throw new CorruptRecordError(key, `schemaVersion is ${JSON.stringify(v)}, expected ${SCHEMA_VERSION}`);
}

function checkTensorSet(key: string, o: Obj): void {
  need(key, o, { writeId: 'string', tensors: 'array', chunks: 'array', totalBytes: 'number' });
  (o.tensors as unknown[]).forEach((t, i) =>
    need(key, t, { name: 'string', dtype: 'string', shape: 'array', byteLength: 'number', offset: 'number' }, `tensors[${i}].`));
  (o.chunks as unknown[]).forEach((c, i) =>
    need(key, c, { key: 'string', byteLength: 'number', checksum: 'number' }, `chunks[${i}].`));
}

export function asAdapterMeta(key: string, v: unknown): AdapterMeta {
  const o = need(key, v, {
    schemaVersion: 'number', id: 'string', name: 'string', baseModelId: 'string', baseWeightsHash: 'string',
    r: 'number', alpha: 'number', targetModules: 'array', trainingConfig: 'object', step: 'number',
    metricSummary: 'object', version: 'number', createdAt: 'number', updatedAt: 'number',
  });
  checkVersion(key, o);
  checkTensorSet(key, o);
  return o as unknown as AdapterMeta;
}

export function asCheckpointMeta(key: string, v: unknown): CheckpointMeta {
  const o = need(key, v, {
    schemaVersion: 'number', runId: 'string', step: 'number', seq: 'number', optimizerStep: 'number',
    config: 'object', metrics: 'array', createdAt: 'number',
  });
  checkVersion(key, o);
  checkTensorSet(key, o);
  (o.tensors as Obj[]).forEach((t, i) => {
    if (t.role !== 'adapter' && t.role !== 'adam_m' && t.role !== 'adam_v') {
      throw new CorruptRecordError(key, `tensors[${i}].role is ${JSON.stringify(t.role)}`);
    }
  });
  return o as unknown as CheckpointMeta;
}

export function asRunSummary(key: string, v: unknown): RunSummary {
  const o = need(key, v, {
    schemaVersion: 'number', id: 'string', name: 'string', adapterId: 'string|null', config: 'object',
    status: 'string', metricsLog: 'object', samplesLog: 'object', createdAt: 'number', updatedAt: 'number',
  });
  checkVersion(key, o);
  for (const log of ['metricsLog', 'samplesLog'] as const) {
    need(key, o[log], { pageSize: 'number', rows: 'number', firstPage: 'number', cap: 'number' }, `${log}.`);
  }
  return o as unknown as RunSummary;
}

/** Chunk keys a pointer record references (empty for anything that is not one). */
export function referencedChunks(v: unknown): string[] {
  if (!isObj(v) || !Array.isArray(v.chunks)) return [];
  return (v.chunks as unknown[]).flatMap((c) => (isObj(c) && typeof c.key === 'string' ? [c.key] : []));
}
