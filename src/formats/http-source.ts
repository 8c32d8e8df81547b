// A ByteSource over HTTP Range requests (Hugging Face resolve URLs, any static server). Each read
// asks for `Range: bytes=a-b`, checks the 206 and its Content-Range, and on a network error or
// 5xx retries with backoff from the byte where it stopped, so an interrupted tensor resumes.

import { checkRange, SourceError, throwIfAborted, type ByteSource } from './sources';

export interface HttpOptions {
  /** a Hugging Face access token, sent as `Authorization: Bearer …` */
  token?: string;
  /** extra request headers */
  headers?: Record<string, string>;
  /** the fetch to use (default: globalThis.fetch) */
  fetch?: typeof fetch;
  /** retries of one failed request (default 4); 0 disables retrying */
  retries?: number;
  /** first backoff in ms, doubled each retry up to 30 s (default 500) */
  backoffMs?: number;
  /** called with each run of bytes received (delta, in bytes): download progress */
  onBytes?: (bytes: number) => void;
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The error for a non-success HTTP status, with a hint for the user. */
export function httpStatusError(status: number, what: string, hadToken: boolean): SourceError {
  const msg = `${what}: HTTP ${status}`;
  switch (status) {
    case 401:
      return new SourceError('unauthorized', msg, hadToken
        ? 'the access token was rejected: check it is valid and can read this repo (huggingface.co/settings/tokens)'
        : 'the repo is gated or private: accept its terms on its Hugging Face page, then provide an access token (huggingface.co/settings/tokens)', status);
    case 403:
      return new SourceError('forbidden', msg, 'access denied: for a gated repo, accept its terms on its Hugging Face page with the account that owns the token', status);
    case 404:
      return new SourceError('not_found', msg, 'check the repo id, the revision and the file name', status);
    case 416:
      return new SourceError('bad_range', msg, 'the file on the server is shorter than expected; it may have changed — start again', status);
    default:
      return new SourceError('http_status', msg, RETRY_STATUS.has(status) ? 'the server is busy or failing; try again later' : 'the server refused the request', status);
  }
}

function isRetryable(e: SourceError): boolean {
  if (e.code === 'network' || e.code === 'short_read') return true;
  return e.code === 'http_status' && e.status !== undefined && RETRY_STATUS.has(e.status);
}

function abortableSleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SourceError('aborted', `${what}: aborted`, 'start again; finished files are kept'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Maps whatever a fetch or a body read threw to a SourceError. */
function toSourceError(e: unknown, signal: AbortSignal | undefined, what: string): SourceError {
  if (e instanceof SourceError) return e;
  if (signal?.aborted) return new SourceError('aborted', `${what}: aborted`, 'start again; finished files are kept');
  const cause = e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
  return new SourceError('network', `${what}: ${cause}`, 'check the network connection (and, in a browser, that the server allows CORS); then try again');
}

/**
 * Runs `attempt` until it succeeds, retrying retryable failures with exponential backoff.
 * `attempt` may keep state between calls (bytes already received) to resume.
 */
export async function withRetry<T>(opts: HttpOptions, signal: AbortSignal | undefined, what: string, attempt: () => Promise<T>): Promise<T> {
  const retries = opts.retries ?? 4;
  for (let i = 0; ; i++) {
    throwIfAborted(signal, what);
    try {
      return await attempt();
    } catch (e) {
      const err = toSourceError(e, signal, what);
      if (!isRetryable(err) || i >= retries) {
        if (i > 0) err.message += ` (after ${i + 1} attempts)`;
        throw err;
      }
      await abortableSleep(Math.min(30_000, (opts.backoffMs ?? 500) * 2 ** i), signal, what);
    }
  }
}

/** Request headers: the caller's, plus Authorization when a token is set. */
export function requestHeaders(opts: HttpOptions, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...opts.headers, ...extra };
  if (opts.token) h.Authorization = `Bearer ${opts.token}`;
  return h;
}

/** A fetch that maps non-2xx statuses to SourceErrors (the body of a failed response is dropped). */
export async function fetchChecked(url: string, init: RequestInit, opts: HttpOptions, what: string): Promise<Response> {
  const res = await (opts.fetch ?? globalThis.fetch)(url, init);
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw httpStatusError(res.status, what, Boolean(opts.token));
  }
  return res;
}

/** Parses `bytes a-b/total` (total may be `*`). */
export function parseContentRange(v: string | null): { start: number; end: number; total: number | null } | null {
  const m = v ? /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(v) : null;
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Finds a URL's size: HEAD's Content-Length, else the total of a one-byte Range request. */
async function probeSize(url: string, opts: HttpOptions, signal: AbortSignal | undefined): Promise<number> {
  const what = `HEAD ${url}`;
  const head = await withRetry(opts, signal, what, () => fetchChecked(url, { method: 'HEAD', headers: requestHeaders(opts), signal }, opts, what));
  const len = head.headers.get('content-length');
  if (len !== null && /^\d+$/.test(len) && !head.headers.get('content-encoding')) return Number(len);
  const what2 = `GET ${url} (bytes=0-0)`;
  const res = await withRetry(opts, signal, what2, () => fetchChecked(url, { headers: requestHeaders(opts, { Range: 'bytes=0-0' }), signal }, opts, what2));
  await res.body?.cancel().catch(() => undefined);
  const total = parseContentRange(res.headers.get('content-range'))?.total;
  if (res.status === 206 && total != null) return total;
  throw new SourceError('no_size', `${url}: the server reports no size (no Content-Length on HEAD, no total in Content-Range)`, 'the server must support HEAD or Range requests; download the file and open it locally');
}

/** Opens a URL as a ByteSource (one HEAD request to learn its size). */
export async function openHttpSource(url: string, opts: HttpOptions & { signal?: AbortSignal; name?: string } = {}): Promise<HttpSource> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SourceError('bad_url', `${JSON.stringify(url)} is not a URL`, 'use an absolute http(s) URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SourceError('bad_url', `${url}: protocol ${parsed.protocol} is not http(s)`, 'use an absolute http(s) URL');
  return new HttpSource(url, await probeSize(url, opts, opts.signal), opts, opts.name);
}

export class HttpSource implements ByteSource {
  readonly name: string;
  constructor(readonly url: string, readonly size: number, private readonly opts: HttpOptions = {}, name?: string) {
    this.name = name ?? url;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRange(this, offset, length);
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const state = { got: 0 };
    const what = `GET ${this.name} bytes ${offset}-${offset + length - 1}`;
    await withRetry(this.opts, signal, what, () => this.fetchInto(out, offset, state, signal, what));
    return out;
  }

  /** One request for the bytes not yet received; advances state.got as bytes arrive. */
  private async fetchInto(out: Uint8Array, offset: number, state: { got: number }, signal: AbortSignal | undefined, what: string): Promise<void> {
    const start = offset + state.got;
    const last = offset + out.byteLength - 1;
    const res = await fetchChecked(this.url, { headers: requestHeaders(this.opts, { Range: `bytes=${start}-${last}` }), signal }, this.opts, what);
    if (res.status === 200 && start !== 0) {
      await res.body?.cancel().catch(() => undefined);
      throw new SourceError('range_ignored', `${what}: the server ignored the Range header (HTTP 200 instead of 206)`, 'the server does not support partial downloads; download the file and open it locally');
    }
    if (res.status === 206) this.checkContentRange(res.headers.get('content-range'), start, last, what);
    await this.pump(res, out, state, what);
  }

  private checkContentRange(header: string | null, start: number, last: number, what: string): void {
    if (header === null) return; // not exposed by CORS: the byte count is still checked
    const cr = parseContentRange(header);
    if (!cr || cr.start !== start || cr.end !== last) {
      throw new SourceError('bad_content_range', `${what}: server answered Content-Range ${JSON.stringify(header)}, expected bytes ${start}-${last}`, 'the server mishandles Range requests; download the file and open it locally');
    }
    if (cr.total !== null && cr.total !== this.size) {
      throw new SourceError('source_changed', `${what}: file is now ${cr.total} bytes, was ${this.size} when opened`, 'the file changed on the server while downloading; start again');
    }
  }

  /** Streams the body into `out` from state.got; cancels the body once `out` is full. */
  private async pump(res: Response, out: Uint8Array, state: { got: number }, what: string): Promise<void> {
    if (!res.body) throw new SourceError('short_read', `${what}: response has no body`, 'try again');
    const reader = res.body.getReader();
    try {
      while (state.got < out.byteLength) {
        const { done, value } = await reader.read();
        if (done) throw new SourceError('short_read', `${what}: connection ended after ${state.got} of ${out.byteLength} bytes`, 'the download was interrupted; it resumes automatically, or try again');
        const n = Math.min(value.byteLength, out.byteLength - state.got);
        out.set(value.subarray(0, n), state.got);
        state.got += n;
        this.opts.onBytes?.(n);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}
