// Downloads one file into the weight cache: a single streamed GET from the byte the cache already
// holds (`Range: bytes=N-`), written as it arrives; on a network error, a cut connection or a 5xx
// it retries with backoff from the byte where it stopped. Only a complete file is committed.
import { fetchChecked, parseContentRange, requestHeaders, withRetry, type HttpOptions } from '../formats/http-source';
import { SourceError } from '../formats/sources';
import type { CacheWriter } from '../storage/weight-cache';

export interface DownloadOptions extends HttpOptions {
  signal?: AbortSignal;
  /** for messages: repo/file */
  name: string;
}

/** Fills `writer` up to `size` bytes from `url` and commits it; returns the cached (disk-backed) file. */
export async function downloadInto(url: string, size: number, writer: CacheWriter, opts: DownloadOptions): Promise<Blob> {
  if (writer.offset > size) writer.reset(); // the file changed on the server: start over
  const what = `GET ${opts.name}`;
  await withRetry(opts, opts.signal, what, async () => {
    if (writer.offset >= size) return;
    const start = writer.offset;
    const range = { Range: `bytes=${start}-${size - 1}` };
    const res = await fetchChecked(url, { headers: requestHeaders(opts, range), signal: opts.signal }, opts, what);
    if (res.status === 200 && start > 0) writer.reset(); // the server ignored the Range: the body is the whole file
    else if (res.status === 206) checkRange(res.headers.get('content-range'), start, size, what);
    await pump(res, writer, size, opts, what);
  });
  return writer.commit(size);
}

function checkRange(header: string | null, start: number, size: number, what: string): void {
  if (header === null) return; // hidden by CORS: the byte count is still checked
  const cr = parseContentRange(header);
  if (!cr || cr.start !== start) {
    throw new SourceError('bad_content_range', `${what}: server answered Content-Range ${JSON.stringify(header)}, expected bytes ${start}-${size - 1}`, 'the server mishandles Range requests; download the files and open the folder locally');
  }
  if (cr.total !== null && cr.total !== size) {
    throw new SourceError('source_changed', `${what}: the file is now ${cr.total} bytes, it was ${size}`, 'the file changed on the server while downloading; load the model again');
  }
}

async function pump(res: Response, writer: CacheWriter, size: number, opts: DownloadOptions, what: string): Promise<void> {
  if (!res.body) throw new SourceError('short_read', `${what}: the response has no body`, 'try again');
  const reader = res.body.getReader();
  try {
    while (writer.offset < size) {
      const { done, value } = await reader.read();
      if (done) throw new SourceError('short_read', `${what}: the connection ended at byte ${writer.offset} of ${size}`, 'the download was interrupted; it resumes automatically, or load again');
      const n = Math.min(value.byteLength, size - writer.offset);
      writer.write(value.subarray(0, n));
      opts.onBytes?.(n);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
