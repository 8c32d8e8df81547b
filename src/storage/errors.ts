// Errors raised by storage/: each says what failed (with numbers) and carries a `hint` for the user.
// They cross the worker boundary as plain {name, message, hint} (see errorInfo).

export interface ErrorInfo {
  name: string;
  message: string;
  hint: string;
}

const FREE_SPACE_HINT =
  'free space: delete old adapters/checkpoints, or export and delete; or request persistent storage';

/** Base class: every storage error has a name, a message and a hint. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(message: string, readonly hint: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The browser refused a write for lack of space (DOMException 'QuotaExceededError'). */
export class StorageQuotaError extends StorageError {
  override name = 'StorageQuotaError';
  constructor(message: string, readonly bytesAttempted: number, options?: { cause?: unknown }) {
    super(message, FREE_SPACE_HINT, options);
  }
}

/** A stored record is missing a piece, has the wrong size, fails its checksum or is malformed. */
export class CorruptRecordError extends StorageError {
  override name = 'CorruptRecordError';
  constructor(
    readonly key: string,
    readonly reason: string,
    hint = 'this record is damaged; load an older checkpoint or version, or delete it and save again',
  ) {
    super(`corrupt record '${key}': ${reason}`, hint);
  }
}

/** The caller asked for an adapter/checkpoint/run that does not exist. */
export class StorageNotFoundError extends StorageError {
  override name = 'StorageNotFoundError';
  constructor(readonly kind: string, readonly id: string) {
    super(`${kind} '${id}' not found`, `list the stored ${kind}s to see what exists; it may have been deleted in another tab`);
  }
}

/** The database was written by a newer (or unknown) schema than this build understands. */
export class SchemaVersionError extends StorageError {
  override name = 'SchemaVersionError';
  constructor(readonly found: number, readonly supported: number) {
    super(
      `storage schema version ${found} is not supported (this build understands 1..${supported})`,
      'update the app to the newest version, or open a different database (dbName)',
    );
  }
}

/** True for the DOMException (or look-alike) that browsers raise when a write exceeds the quota. */
export function isQuotaError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const name = (e as { name?: unknown }).name;
  // Old Firefox used NS_ERROR_DOM_QUOTA_REACHED; legacy WebKit used code 22.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || (e as { code?: unknown }).code === 22;
}

/** Turns a failed write into a StorageError; quota failures become StorageQuotaError. */
export function writeError(e: unknown, what: string, bytesAttempted: number): StorageError {
  if (e instanceof StorageError) return e;
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (isQuotaError(e)) {
    return new StorageQuotaError(`out of storage space while ${what} (${fmtBytes(bytesAttempted)}); ${detail}`, bytesAttempted, { cause: e });
  }
  return new StorageError(`storage write failed while ${what} (${fmtBytes(bytesAttempted)}): ${detail}`,
    'the previous version is kept; retry, and if it keeps failing reload the tab or free space', { cause: e });
}

/** Turns a failed read into a StorageError. */
export function readError(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new StorageError(`storage read failed while ${what}: ${detail}`,
    'retry; if IndexedDB keeps failing, reload the tab (private windows may block storage)', { cause: e });
}

/** Plain-object form for postMessage and logs. */
export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof StorageError) return { name: e.name, message: e.message, hint: e.hint };
  if (e instanceof Error) return { name: e.name, message: e.message, hint: 'unexpected error; see the console' };
  return { name: 'Error', message: String(e), hint: 'unexpected error; see the console' };
}

/** "12.3 MiB" style byte counts for messages. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
