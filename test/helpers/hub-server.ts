// A tiny Hugging Face hub stand-in for tests: serves a folder as /{owner}/{name}/resolve/{rev}/{file}
// on 127.0.0.1 (port 0), with HEAD, Range (206 + Content-Range), 404s, an optional required token
// (401) and injected failures of chosen requests (500, connection cut mid-body, hang) for retry tests;
// with `cors`, browser pages of another origin may read it (preflights answered, Content-Range exposed).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { open, stat } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { resolve, sep } from 'node:path';

/** 'status500': answer 500; 'reset': send headers and half the body, then cut the connection;
 *  'hang': never answer (until the server closes); 'status403' / 'status429': that status. */
export type FailMode = 'status500' | 'status429' | 'status403' | 'reset' | 'hang';

export interface RequestLog {
  /** 1-based, in arrival order */
  n: number;
  method: string;
  path: string;
  range: string | null;
  auth: string | null;
  status: number;
  failed: FailMode | null;
}

export interface HubServerOptions {
  /** folder laid out as {owner}/{name}/{file} */
  root: string;
  /** when set, requests without `Authorization: Bearer <token>` get 401 */
  token?: string;
  /** answer 200 with the whole file even when a Range is asked */
  ignoreRange?: boolean;
  /** CORS headers on every answer and OPTIONS preflights answered 204 (for browser tests) */
  cors?: boolean;
}

export interface HubServer {
  /** e.g. http://127.0.0.1:40123 (the endpoint to give hub.ts) */
  url: string;
  requests: RequestLog[];
  /** fail request number n (1-based, counted from server start) */
  failRequest(n: number, mode: FailMode): void;
  /** fail the next request that matches (method, path suffix) */
  failNext(match: { method?: string; pathEndsWith?: string }, mode: FailMode): void;
  close(): Promise<void>;
}

const ROUTE = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/;

function parseRange(h: string, size: number): { start: number; end: number } | null | 'bad' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'bad';
  if (m[1] === '') { // suffix range: last N bytes
    const n = Number(m[2]);
    return n === 0 ? 'bad' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

async function readSlice(path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, start);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Answers one request from the folder: 401 / 404 / 416, HEAD, 200 or 206 with Content-Range. */
async function serveFile(req: IncomingMessage, res: ServerResponse, log: RequestLog, root: string, opts: HubServerOptions): Promise<void> {
  const end = (status: number, body = '') => {
    log.status = status;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return end(405, 'method not allowed');
  if (opts.token && log.auth !== `Bearer ${opts.token}`) return end(401, 'token required');
  const m = ROUTE.exec(log.path.split('?')[0]);
  if (!m) return end(404, 'no such route');
  const [owner, name, , file] = m.slice(1).map(decodeURIComponent);
  const path = resolve(root, owner, name, file);
  if (!path.startsWith(root + sep)) return end(404, 'outside root');
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) return end(404, 'entry not found');
  const range = log.range && !opts.ignoreRange ? parseRange(log.range, st.size) : null;
  if (range === 'bad') {
    log.status = 416;
    res.writeHead(416, { 'Content-Range': `bytes */${st.size}`, 'Content-Length': 0 }).end();
    return;
  }
  const start = range ? range.start : 0;
  const length = range ? range.end - range.start + 1 : st.size;
  const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': length, 'Accept-Ranges': 'bytes', ETag: `"${st.size}-${st.mtimeMs}"` };
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${st.size}`;
  log.status = range ? 206 : 200;
  res.writeHead(log.status, headers);
  if (req.method === 'HEAD') return void res.end();
  const body = await readSlice(path, start, length);
  if (log.failed === 'reset') {
    // wait before cutting so the client has surely read the first half, even on a loaded 2-core CI machine
    res.write(body.subarray(0, Math.floor(length / 2)), () => setTimeout(() => res.destroy(), 750));
    return;
  }
  res.end(body);
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const root = resolve(opts.root);
  const requests: RequestLog[] = [];
  const failAt = new Map<number, FailMode>();
  const failMatchers: { method?: string; pathEndsWith?: string; mode: FailMode }[] = [];
  const sockets = new Set<Socket>();

  const pickFailure = (n: number, method: string, path: string): FailMode | null => {
    const byN = failAt.get(n);
    if (byN) return byN;
    const i = failMatchers.findIndex((m) => (!m.method || m.method === method) && (!m.pathEndsWith || path.endsWith(m.pathEndsWith)));
    return i < 0 ? null : failMatchers.splice(i, 1)[0].mode;
  };

  const server = createServer((req, res) => {
    const log: RequestLog = {
      n: requests.length + 1, method: req.method ?? '', path: req.url ?? '', range: req.headers.range ?? null,
      auth: req.headers.authorization ?? null, status: 0, failed: null,
    };
    requests.push(log);
    if (opts.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges, ETag');
      if (req.method === 'OPTIONS') {
        log.status = 204;
        res.writeHead(204, { 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range, Authorization', 'Access-Control-Max-Age': '600' }).end();
        return;
      }
    }
    log.failed = pickFailure(log.n, log.method, log.path);
    if (log.failed === 'hang') return;
    if (log.failed?.startsWith('status')) {
      log.status = Number(log.failed.slice(6));
      res.writeHead(log.status, { 'Content-Length': 0 }).end();
      return;
    }
    serveFile(req, res, log, root, opts).catch((e: Error) => {
      log.status = 500;
      if (!res.headersSent) res.writeHead(500).end(e.message);
      else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failRequest: (n, mode) => void failAt.set(n, mode),
    failNext: (match, mode) => void failMatchers.push({ ...match, mode }),
    close: () => new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    }),
  };
}
