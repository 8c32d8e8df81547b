// Byte sources and the streaming safetensors reader: open a file's header by reading only its
// first bytes, then walk its tensors one at a time without ever holding the whole file.
// Browser-safe: the Node file source lives in node-source.ts, HTTP Range reads in http-source.ts.

import {
  parseHeader, readHeaderLength, SafetensorsError, type SafetensorsHeader, type TensorInfo,
} from './safetensors';

/** Random access to the bytes of one file (local file, browser File/Blob, HTTP URL, memory). */
export interface ByteSource {
  /** for messages: a file name, path or URL */
  readonly name: string;
  /** the file's size in bytes */
  readonly size: number;
  /** Exactly `length` bytes from `offset`, as a fresh array the caller owns; throws SourceError. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Releases the source (a file handle); optional. */
  close?(): Promise<void>;
}

export type SourceErrorCode =
  | 'out_of_range' | 'short_read' | 'aborted' | 'io' | 'network' | 'http_status' | 'bad_range'
  | 'unauthorized' | 'forbidden' | 'not_found' | 'range_ignored' | 'bad_content_range'
  | 'source_changed' | 'no_size' | 'bad_url' | 'bad_repo_id' | 'no_weights' | 'header_mismatch'
  | 'duplicate_tensor' | 'index_mismatch';

/** Raised when bytes cannot be had: I/O, HTTP status, abort, bad hub layout. */
export class SourceError extends Error {
  override name = 'SourceError';
  constructor(
    readonly code: SourceErrorCode,
    message: string,
    readonly hint: string,
    /** the HTTP status when the failure was an HTTP response */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Throws 'out_of_range' unless [offset, offset + length) lies inside the source. */
export function checkRange(source: ByteSource, offset: number, length: number): void {
  const ok = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= source.size;
  if (!ok) {
    throw new SourceError('out_of_range', `read of ${length} bytes at ${offset} from ${source.name} is outside its ${source.size} bytes`, 'this is a bug in the caller');
  }
}

/** Throws 'aborted' when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new SourceError('aborted', `${what}: aborted`, 'start again; finished files are kept');
}

/** An in-memory file (tests, files already downloaded). Reads return copies. */
export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(private readonly bytes: Uint8Array, readonly name = 'memory') {
    this.size = bytes.byteLength;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRange(this, offset, length);
    throwIfAborted(signal, `reading ${this.name}`);
    return this.bytes.slice(offset, offset + length);
  }
}

/** A browser File or Blob (a file picked from a local folder). */
export class BlobSource implements ByteSource {
  readonly size: number;
  readonly name: string;
  constructor(private readonly blob: Blob, name?: string) {
    this.size = blob.size;
    this.name = name ?? ('name' in blob && typeof blob.name === 'string' ? blob.name : 'blob');
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const what = `reading ${length} bytes at ${offset} from ${this.name}`;
    throwIfAborted(signal, what);
    let buf: ArrayBuffer;
    try {
      buf = await this.blob.slice(offset, offset + length).arrayBuffer();
    } catch (e) {
      throw new SourceError('io', `${what} failed: ${(e as Error).message}`, 'the file may have changed or been removed since it was picked; pick it again');
    }
    throwIfAborted(signal, what);
    if (buf.byteLength !== length) throw new SourceError('short_read', `${what}: got ${buf.byteLength} bytes`, 'the file changed since it was picked; pick it again');
    return new Uint8Array(buf);
  }
}

/** The first 8 + N bytes of the file (8 when the length prefix already fails), nothing more. */
async function readHeaderBytes(source: ByteSource, signal?: AbortSignal): Promise<Uint8Array> {
  const first = await source.read(0, Math.min(source.size, 8), signal);
  if (first.byteLength < 8) return first; // parseHeader reports too_small
  const need = 8 + readHeaderLength(first); // throws header_too_large before any big read
  if (need > source.size) return first; // parseHeader reports truncated_header
  const bytes = new Uint8Array(need);
  bytes.set(first);
  bytes.set(await source.read(8, need - 8, signal), 8);
  return bytes;
}

/** Reads and validates the header of a safetensors source, reading only the header's bytes. */
export async function openSafetensors(source: ByteSource, opts: { signal?: AbortSignal } = {}): Promise<SafetensorsHeader> {
  try {
    return parseHeader(await readHeaderBytes(source, opts.signal), source.size);
  } catch (e) {
    if (e instanceof SafetensorsError) e.message = `${source.name}: ${e.message}`;
    throw e;
  }
}

export interface TensorProgress {
  /** tensor data bytes read so far, out of bytesTotal (the selected tensors) */
  bytesDone: number;
  bytesTotal: number;
  /** tensors fully read so far, out of tensorsTotal */
  tensorsDone: number;
  tensorsTotal: number;
  /** the source being read and the tensor the last bytes belong to */
  source: string;
  tensor: string;
}

export interface IterateOptions {
  signal?: AbortSignal;
  onProgress?: (p: TensorProgress) => void;
  /** largest single read in bytes (default 64 MiB): small neighbours are fetched together up to
   *  this, big tensors are fetched in pieces of this size */
  chunkBytes?: number;
  /** read only the tensors for which this returns true */
  filter?: (info: TensorInfo) => boolean;
}

export interface StreamedTensor {
  info: TensorInfo;
  /** the tensor's raw little-endian bytes; a fresh array the caller owns */
  bytes: Uint8Array;
}

/** Consecutive tensors that are adjacent in the file, read with one request. */
function planBatches(tensors: TensorInfo[], chunkBytes: number): TensorInfo[][] {
  const batches: TensorInfo[][] = [];
  let cur: TensorInfo[] = [];
  let curBytes = 0;
  for (const t of tensors) {
    const n = t.end - t.begin;
    const last = cur[cur.length - 1];
    if (last && (last.end !== t.begin || curBytes + n > chunkBytes)) {
      batches.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(t);
    curBytes += n;
  }
  if (cur.length) batches.push(cur);
  return batches;
}

function checkHeaderFits(source: ByteSource, header: SafetensorsHeader): void {
  const last = header.tensors[header.tensors.length - 1];
  const end = header.dataOffset + (last ? last.end : 0);
  if (end !== source.size) {
    throw new SourceError('header_mismatch', `header describes ${end} bytes but ${source.name} has ${source.size}`, 'pass the header that openSafetensors returned for this same source');
  }
}

/**
 * Yields the tensors of one safetensors source in file order, one at a time. At most
 * max(chunkBytes, largest tensor) bytes are held by the reader at once.
 */
export async function* iterateTensors(source: ByteSource, header: SafetensorsHeader, opts: IterateOptions = {}): AsyncGenerator<StreamedTensor> {
  checkHeaderFits(source, header);
  const chunk = opts.chunkBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new SourceError('out_of_range', `chunkBytes ${chunk} must be a positive integer`, 'this is a bug in the caller');
  const selected = opts.filter ? header.tensors.filter(opts.filter) : header.tensors;
  const p: TensorProgress = {
    bytesDone: 0, bytesTotal: selected.reduce((s, t) => s + t.end - t.begin, 0),
    tensorsDone: 0, tensorsTotal: selected.length, source: source.name, tensor: '',
  };
  const report = (tensor: string, bytes: number, done: number) => {
    p.bytesDone += bytes;
    p.tensorsDone += done;
    p.tensor = tensor;
    opts.onProgress?.({ ...p });
  };
  for (const batch of planBatches(selected, chunk)) {
    const first = batch[0];
    const total = batch[batch.length - 1].end - first.begin;
    throwIfAborted(opts.signal, `reading ${source.name}`);
    if (batch.length === 1 && total > chunk) {
      const out = new Uint8Array(total);
      for (let at = 0; at < total; at += chunk) {
        const n = Math.min(chunk, total - at);
        out.set(await source.read(header.dataOffset + first.begin + at, n, opts.signal), at);
        report(first.name, n, at + n === total ? 1 : 0);
      }
      yield { info: first, bytes: out };
      continue;
    }
    const buf = await source.read(header.dataOffset + first.begin, total, opts.signal);
    for (const t of batch) {
      report(t.name, t.end - t.begin, 1);
      const bytes = batch.length === 1 ? buf : buf.slice(t.begin - first.begin, t.end - first.begin);
      yield { info: t, bytes };
    }
  }
}
