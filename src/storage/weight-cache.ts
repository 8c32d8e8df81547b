// Browser cache of downloaded model files in the Origin Private File System (OPFS), chosen over the
// Cache API because multi-GB safetensors need (1) writes that survive an interruption and resume at
// the byte where they stopped (a sync access handle writes at any offset; a Cache API entry is one
// Response, all or nothing) and (2) range reads without holding a file in memory (getFile() gives a
// disk-backed File that BlobSource slices). Only complete files are used: see the layout below.
import { StorageError, StorageQuotaError } from './errors';
import { formatBytes } from '../gpu/errors';

/**
 * Layout: tabzero-weights-v1/<endpoint>/<owner%2Fname>/<revision>/ holds each file under its
 * URI-encoded name, '#done.<name>' once that file is complete (its size as JSON) and '#manifest'
 * once the whole repo is (encodeURIComponent never outputs '#', so our names cannot clash).
 */
export const CACHE_DIR = 'tabzero-weights-v1';
const DONE = '#done.';
const MANIFEST = '#manifest';

/** Which repo snapshot: the hub endpoint, the repo id and the revision as asked ("main" stays cached until cleared). */
export interface CacheKey {
  endpoint: string;
  repo: string;
  revision: string;
}

/** Written once every file of a load is complete: a later load needs no network at all. */
export interface CacheManifest {
  /** weight shards with their sizes */
  weights: { file: string; size: number }[];
  /** whether model.safetensors.index.json is cached (sharded model) */
  indexed: boolean;
  /** optional files the repo does not have (not asked again) */
  absent: string[];
  savedAt: number;
}

/** Appends bytes to a partly downloaded file; commit marks it complete. */
export interface CacheWriter {
  /** bytes already in the file: the download resumes here */
  readonly offset: number;
  write(bytes: Uint8Array): void;
  /** drops the partial bytes (the server would not resume) */
  reset(): void;
  /** checks the size, flushes, marks the file complete and returns it (disk-backed) */
  commit(size: number): Promise<File>;
  /** stops writing; the partial bytes stay for the next attempt */
  close(): void;
}

export interface CacheEntry extends CacheKey {
  bytes: number;
  /** every file of the last load is there */
  complete: boolean;
}

export interface CacheUsage {
  bytes: number;
  entries: CacheEntry[];
}

interface SyncHandle {
  write(b: Uint8Array, o: { at: number }): number;
  truncate(n: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}
type Dir = FileSystemDirectoryHandle;
type Entries = AsyncIterable<[string, FileSystemHandle]>;
const entriesOf = (d: Dir): Entries => (d as unknown as { entries(): Entries }).entries();
const isNotFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');
const HINT_BUSY = 'wait for the download to finish or cancel it, then try again';

function storageError(e: unknown, what: string, bytes = 0): Error {
  if (e instanceof StorageError) return e;
  const name = e instanceof DOMException ? e.name : '';
  const msg = `${what}: ${e instanceof Error ? e.message : String(e)}`;
  if (name === 'QuotaExceededError') return new StorageQuotaError(msg, bytes, { cause: e });
  if (name === 'NoModificationAllowedError' || name === 'InvalidStateError') return new StorageError(`${msg} (the file is in use)`, HINT_BUSY, { cause: e });
  return new StorageError(msg, 'reload the page; if it persists, clear the weight cache in the Model panel', { cause: e });
}

/** The weight cache, or null where OPFS is missing (then files stream from the network uncached). */
export class WeightCache {
  private constructor(private readonly root: Dir) {}

  static async open(): Promise<WeightCache | null> {
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    if (typeof storage?.getDirectory !== 'function') return null;
    try {
      return new WeightCache(await storage.getDirectory());
    } catch {
      return null; // e.g. a private window that refuses OPFS
    }
  }

  /** True where complete downloads can be written here (sync access handles: workers only). */
  get canWrite(): boolean {
    const proto = (globalThis as { FileSystemFileHandle?: { prototype: object } }).FileSystemFileHandle?.prototype;
    return !!proto && 'createSyncAccessHandle' in proto;
  }

  private async dir(key: CacheKey, create: boolean): Promise<Dir | null> {
    try {
      let d = await this.root.getDirectoryHandle(CACHE_DIR, { create });
      for (const part of [key.endpoint, key.repo, key.revision]) d = await d.getDirectoryHandle(encodeURIComponent(part), { create });
      return d;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw storageError(e, `opening the weight cache of ${key.repo}`);
    }
  }

  private async fileIn(d: Dir | null, name: string): Promise<File | null> {
    if (!d) return null;
    try {
      return await (await d.getFileHandle(name)).getFile();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw storageError(e, `reading ${name} from the weight cache`);
    }
  }

  /** A complete cached file, or null (absent, partial, or not the size it was committed with). */
  async get(key: CacheKey, file: string): Promise<File | null> {
    const d = await this.dir(key, false);
    const done = await this.fileIn(d, DONE + encodeURIComponent(file));
    if (!done) return null;
    const size = Number(await done.text());
    const f = await this.fileIn(d, encodeURIComponent(file));
    return f && f.size === size ? f : null;
  }

  /** Bytes of a file already here, complete or not (what a download can resume from). */
  async partialBytes(key: CacheKey, file: string): Promise<number> {
    return (await this.fileIn(await this.dir(key, false), encodeURIComponent(file)))?.size ?? 0;
  }

  async readText(key: CacheKey, file: string): Promise<string | null> {
    return (await this.get(key, file))?.text() ?? null;
  }

  /** Stores a small file whole and marks it complete. */
  async putText(key: CacheKey, file: string, text: string): Promise<void> {
    const w = await this.writer(key, file);
    try {
      w.reset();
      const bytes = new TextEncoder().encode(text);
      w.write(bytes);
      await w.commit(bytes.byteLength);
    } finally {
      w.close();
    }
  }

  /** Opens a file for appending (resuming after its current bytes). Workers only (see canWrite). */
  async writer(key: CacheKey, file: string): Promise<CacheWriter> {
    const d = (await this.dir(key, true))!;
    const name = encodeURIComponent(file);
    let h: SyncHandle;
    try {
      await d.removeEntry(DONE + name).catch(() => undefined); // incomplete until committed again
      const fh = await d.getFileHandle(name, { create: true });
      h = await (fh as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
    } catch (e) {
      throw storageError(e, `opening ${file} in the weight cache for writing`);
    }
    return new OpfsWriter(h, d, name, file);
  }

  async manifest(key: CacheKey): Promise<CacheManifest | null> {
    const f = await this.fileIn(await this.dir(key, false), MANIFEST);
    if (!f) return null;
    try {
      const m = JSON.parse(await f.text()) as CacheManifest;
      return Array.isArray(m.weights) && Array.isArray(m.absent) ? m : null;
    } catch {
      return null; // damaged: treated as not cached; complete files are still reused
    }
  }

  async putManifest(key: CacheKey, m: CacheManifest): Promise<void> {
    const d = (await this.dir(key, true))!;
    await writeSmall(d, MANIFEST, new TextEncoder().encode(JSON.stringify(m)));
  }

  /** Bytes per cached repo snapshot (partial downloads included). */
  async usage(): Promise<CacheUsage> {
    const entries: CacheEntry[] = [];
    let top: Dir;
    try {
      top = await this.root.getDirectoryHandle(CACHE_DIR);
    } catch (e) {
      if (isNotFound(e)) return { bytes: 0, entries };
      throw storageError(e, 'reading the weight cache');
    }
    for await (const [ep, a] of entriesOf(top)) {
      if (a.kind !== 'directory') continue;
      for await (const [repo, b] of entriesOf(a as Dir)) {
        if (b.kind !== 'directory') continue;
        for await (const [rev, c] of entriesOf(b as Dir)) {
          if (c.kind !== 'directory') continue;
          let bytes = 0;
          let complete = false;
          for await (const [name, f] of entriesOf(c as Dir)) {
            if (f.kind !== 'file') continue;
            if (name === MANIFEST) complete = true;
            bytes += await (f as FileSystemFileHandle).getFile().then((x) => x.size, () => 0); // 0 while a download holds it
          }
          entries.push({ endpoint: decodeURIComponent(ep), repo: decodeURIComponent(repo), revision: decodeURIComponent(rev), bytes, complete });
        }
      }
    }
    return { bytes: entries.reduce((n, e) => n + e.bytes, 0), entries };
  }

  /** Deletes every cached file (fails while a download holds one open). */
  async clear(): Promise<void> {
    try {
      await this.root.removeEntry(CACHE_DIR, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw storageError(e, 'clearing the weight cache');
    }
  }
}

class OpfsWriter implements CacheWriter {
  private at: number;
  private open = true;
  constructor(private h: SyncHandle, private d: Dir, private name: string, private file: string) {
    this.at = h.getSize();
  }

  get offset(): number {
    return this.at;
  }

  write(bytes: Uint8Array): void {
    try {
      let done = 0;
      while (done < bytes.byteLength) done += this.h.write(bytes.subarray(done), { at: this.at + done });
      this.at += done;
    } catch (e) {
      throw storageError(e, `writing ${this.file} to the weight cache`, bytes.byteLength);
    }
  }

  reset(): void {
    this.h.truncate(0);
    this.at = 0;
  }

  async commit(size: number): Promise<File> {
    if (this.at !== size) throw new StorageError(`${this.file}: ${this.at} bytes written, expected ${size}`, 'load the model again; the download resumes');
    this.h.flush();
    this.close();
    try {
      await writeSmall(this.d, DONE + this.name, new TextEncoder().encode(String(size)));
      return await (await this.d.getFileHandle(this.name)).getFile();
    } catch (e) {
      throw storageError(e, `committing ${this.file} to the weight cache`);
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    try {
      this.h.flush();
    } finally {
      this.h.close();
    }
  }
}

/** Replaces a small file's content (sync handle in a worker, writable stream in a window). */
async function writeSmall(d: Dir, name: string, bytes: Uint8Array): Promise<void> {
  const fh = await d.getFileHandle(name, { create: true });
  if (!('createSyncAccessHandle' in fh)) { // a window: writable streams
    const w = await (fh as FileSystemFileHandle).createWritable();
    await w.write(bytes as Uint8Array<ArrayBuffer>);
    await w.close();
    return;
  }
  const h = await (fh as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
  try {
    h.truncate(0);
    h.write(bytes, { at: 0 });
    h.flush();
  } finally {
    h.close();
  }
}

/** The origin's free storage (quota − usage), or null where the browser does not say. */
export async function freeStorage(): Promise<{ quota: number; usage: number; free: number } | null> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.estimate !== 'function') return null;
  const { quota, usage } = await storage.estimate();
  if (quota === undefined || usage === undefined) return null;
  return { quota, usage, free: Math.max(0, quota - usage) };
}

/** A download does not fit in the browser storage left to this site. */
export class CacheSpaceError extends StorageError {
  override name = 'CacheSpaceError';
  constructor(message: string, readonly needBytes: number, readonly freeBytes: number) {
    super(message, 'free disk space (or clear the weight cache, or other sites\' data in the browser settings), or load the model from a local folder instead');
  }
}

/** Throws CacheSpaceError (how much is needed, how much is free) when `need` bytes do not fit. */
export function assertFreeSpace(need: number, space: { quota: number; free: number } | null, what: string): void {
  if (!space || need <= space.free) return;
  throw new CacheSpaceError(`${what} needs ${formatBytes(need)} of browser storage, but only ${formatBytes(space.free)} is free (quota ${formatBytes(space.quota)})`, need, space.free);
}
