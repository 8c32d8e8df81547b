// Key scheme of the single IndexedDB object store. Small records and tensor chunks are told apart by
// prefix, so listing reads `keys()` plus the small records and never a chunk:
//   tabzero:schema                 SchemaRecord
//   adapter:<id>                   AdapterMeta (pointer)
//   ckpt:<runId>:<step>            CheckpointMeta (pointer)
//   run:<runId>                    RunSummary;   runlog:<runId>:<m|s>:<page>  rows of a paged log
//   chunk:<owner>:<writeId>:<i>    ArrayBuffer ≤ chunkBytes, referenced only by a pointer record

import { StorageError } from './errors';

export const SCHEMA_KEY = 'tabzero:schema';
export const ADAPTER_PREFIX = 'adapter:';
export const CKPT_PREFIX = 'ckpt:';
export const RUN_PREFIX = 'run:';
export const RUNLOG_PREFIX = 'runlog:';
export const CHUNK_PREFIX = 'chunk:';

const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Ids become parts of keys: letters, digits, '_', '.', '-' only (no ':'). */
export function checkId(kind: string, id: string): string {
  if (typeof id !== 'string' || !ID_RE.test(id)) {
    throw new StorageError(`invalid ${kind} id ${JSON.stringify(id)}: expected 1–128 chars of [A-Za-z0-9_.-]`,
      `pick an id without ':' or spaces, e.g. 'run-2026-11-24'`);
  }
  return id;
}

export function checkStep(step: number): number {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new StorageError(`invalid checkpoint step ${step}: expected an integer ≥ 0`, 'pass the optimizer step the checkpoint was taken at');
  }
  return step;
}

export const adapterKey = (id: string): string => `${ADAPTER_PREFIX}${id}`;
export const ckptKey = (runId: string, step: number): string => `${CKPT_PREFIX}${runId}:${step}`;
export const ckptRunPrefix = (runId: string): string => `${CKPT_PREFIX}${runId}:`;
export const runKey = (id: string): string => `${RUN_PREFIX}${id}`;
export const runLogKey = (id: string, log: 'm' | 's', page: number): string => `${RUNLOG_PREFIX}${id}:${log}:${page}`;
export const runLogPrefix = (id: string): string => `${RUNLOG_PREFIX}${id}:`;

/** Owner tags name what a chunk belongs to (for humans; references are what count). */
export const adapterOwner = (id: string): string => `a.${id}`;
export const ckptOwner = (runId: string, step: number): string => `c.${runId}.${step}`;

export const chunkKey = (owner: string, writeId: string, i: number): string => `${CHUNK_PREFIX}${owner}:${writeId}:${i}`;

/** The writeId part of a chunk key, or null when the key is not a chunk key. */
export function chunkWriteId(key: string): string | null {
  if (!key.startsWith(CHUNK_PREFIX)) return null;
  const parts = key.split(':');
  return parts.length === 4 ? parts[2] : null;
}

/** Fresh ids: time (base 36) + 64 random bits; works in any browser context (no randomUUID needed). */
export function newId(): string {
  const r = new Uint32Array(2);
  crypto.getRandomValues(r);
  return `${Date.now().toString(36)}-${r[0].toString(36)}${r[1].toString(36)}`;
}
