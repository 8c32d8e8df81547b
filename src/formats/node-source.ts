// A ByteSource over a local file in Node (CLI, tests, benchmarks). Kept apart from sources.ts so
// browser bundles never pull in 'node:fs'.

import { open, type FileHandle } from 'node:fs/promises';
import { checkRange, SourceError, throwIfAborted, type ByteSource } from './sources';

function ioError(e: unknown, what: string): SourceError {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = `${what}: ${(e as Error).message}`;
  if (code === 'ENOENT') return new SourceError('not_found', msg, 'check the path');
  if (code === 'EACCES' || code === 'EPERM') return new SourceError('forbidden', msg, 'check the file permissions');
  return new SourceError('io', msg, 'check the disk and the path');
}

export class FileSource implements ByteSource {
  private constructor(private readonly fh: FileHandle, readonly name: string, readonly size: number) {}

  /** Opens a file for reading; its size is taken once, here. */
  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw ioError(e, `opening ${path}`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new SourceError('io', `${path} is not a regular file`, 'pass the path of a .safetensors file');
      return new FileSource(fh, path, st.size);
    } catch (e) {
      await fh.close();
      throw e instanceof SourceError ? e : ioError(e, `reading the size of ${path}`);
    }
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const what = `reading ${length} bytes at ${offset} from ${this.name}`;
    throwIfAborted(signal, what);
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fh.read(out, got, length - got, offset + got));
      } catch (e) {
        throw ioError(e, what);
      }
      if (n === 0) throw new SourceError('short_read', `${what}: file ended after ${got} bytes`, 'the file shrank while being read; check nothing else is writing it');
      got += n;
    }
    return out;
  }

  private closed = false;

  /** Closes the file handle; calling it again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/** Opens a local file as a ByteSource; call close() when done. */
export function openFileSource(path: string): Promise<FileSource> {
  return FileSource.open(path);
}
