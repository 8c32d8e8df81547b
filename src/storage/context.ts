// Shared state of one open Storage: the backend, tunables, a per-key mutex (one writer per record in
// this tab) and write registration, so sweepOrphans never deletes chunks of a write in progress —
// in this tab (activeWrites) or in another tab of the origin (Web Locks, when the browser has them).

import type { StorageBackend } from './backend';
import { StorageError } from './errors';

export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

export interface StoreContext {
  backend: StorageBackend;
  dbName: string;
  /** largest chunk record, bytes */
  chunkBytes: number;
  /** read every chunk back and compare its checksum before committing the pointer */
  verifyWrites: boolean;
  now(): number;
  /** runs fn after any earlier call with the same key has settled */
  serial<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** runs fn while writeId is registered as in progress */
  withWrite<T>(writeId: string, fn: () => Promise<T>): Promise<T>;
  /** writeIds in progress now, in this tab and (with Web Locks) in others */
  writesInProgress(): Promise<Set<string>>;
}

export interface ContextOptions {
  backend: StorageBackend;
  dbName: string;
  chunkBytes?: number;
  verifyWrites?: boolean;
  now?: () => number;
  /** pass null to disable Web Locks (defaults to navigator.locks when present) */
  locks?: LockManager | null;
}

export function makeContext(opts: ContextOptions): StoreContext {
  const locks = opts.locks === undefined ? defaultLocks() : opts.locks;
  const lockPrefix = `tabzero-write:${opts.dbName}:`;
  const active = new Set<string>();
  const tails = new Map<string, Promise<unknown>>();

  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => { if (tails.get(key) === tail) tails.delete(key); });
    return run;
  };

  const withWrite = async <T>(writeId: string, fn: () => Promise<T>): Promise<T> => {
    active.add(writeId);
    try {
      return locks ? await locks.request(lockPrefix + writeId, fn) : await fn();
    } finally {
      active.delete(writeId);
    }
  };

  const writesInProgress = async (): Promise<Set<string>> => {
    const ids = new Set(active);
    if (locks) {
      const snap = await locks.query();
      for (const l of [...(snap.held ?? []), ...(snap.pending ?? [])]) {
        if (l.name?.startsWith(lockPrefix)) ids.add(l.name.slice(lockPrefix.length));
      }
    }
    return ids;
  };

  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 4) {
    throw new StorageError(`chunkBytes must be an integer ≥ 4, got ${chunkBytes}`, 'leave chunkBytes unset (64 MiB) outside tests');
  }
  return {
    backend: opts.backend, dbName: opts.dbName, chunkBytes,
    verifyWrites: opts.verifyWrites ?? true,
    now: opts.now ?? Date.now,
    serial, withWrite, writesInProgress,
  };
}

function defaultLocks(): LockManager | null {
  const nav = (globalThis as { navigator?: Navigator }).navigator;
  return nav?.locks ?? null;
}
