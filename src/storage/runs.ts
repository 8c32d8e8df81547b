// Run histories: a small head record per run plus metrics and samples in pages of rows, so appending
// a step rewrites the head and at most the last page of each log, in one atomic transaction.
// Samples keep only the newest `cap` rows (older pages are dropped).

import type { StoreContext } from './context';
import { CorruptRecordError, StorageError, StorageNotFoundError, readError, writeError } from './errors';
import { RUN_PREFIX, checkId, newId, runKey, runLogKey, runLogPrefix } from './keys';
import { SCHEMA_VERSION, type MetricRow, type PagedLog, type RunFields, type RunRecord, type RunStatus, type RunSummary, type SampleRecord } from './schema';
import { asRunSummary } from './validate';

export interface RunLogOptions {
  metricsPageSize: number;
  samplesPageSize: number;
  sampleCap: number;
}

export const DEFAULT_RUN_LOG: RunLogOptions = { metricsPageSize: 256, samplesPageSize: 20, sampleCap: 200 };

const STATUSES: readonly RunStatus[] = ['created', 'running', 'paused', 'stopped', 'finished', 'failed'];

export interface AppendPlan<T> {
  log: PagedLog;
  /** pages to write: [page number, all rows of that page] */
  pages: Array<[number, T[]]>;
  /** pages [from, to) no longer kept */
  drop: [number, number];
}

/** Where appended rows go (pure). `lastPage` is the stored partial last page, if the log has one. */
export function planAppend<T>(log: PagedLog, lastPage: T[] | undefined, rows: T[]): AppendPlan<T> {
  const size = log.pageSize;
  let page = Math.floor(log.rows / size);
  // A short or missing last page (damage) is healed by counting what is really there.
  let cur = (lastPage ?? []).slice(0, log.rows % size);
  const pages: Array<[number, T[]]> = [];
  for (const r of rows) {
    cur.push(r);
    if (cur.length === size) { pages.push([page, cur]); page++; cur = []; }
  }
  if (cur.length > 0) pages.push([page, cur]);
  const total = page * size + cur.length;
  const firstPage = log.cap > 0 ? Math.max(log.firstPage, Math.floor(Math.max(0, total - log.cap) / size)) : log.firstPage;
  return { log: { ...log, rows: total, firstPage }, pages: rows.length ? pages : [], drop: [log.firstPage, firstPage] };
}

export function checkRunFields(f: Partial<RunFields>): void {
  const bad = (what: string, hint: string): never => { throw new StorageError(`invalid run ${what}`, hint); };
  if (f.name !== undefined && (typeof f.name !== 'string' || f.name.length > 200)) bad(`name ${JSON.stringify(f.name)}`, 'use a name of at most 200 characters');
  if (f.status !== undefined && !STATUSES.includes(f.status)) bad(`status ${JSON.stringify(f.status)}`, `one of ${STATUSES.join(', ')}`);
  if (f.adapterId !== undefined && f.adapterId !== null && typeof f.adapterId !== 'string') bad('adapterId', 'an adapter id or null');
  if (f.config !== undefined && (typeof f.config !== 'object' || f.config === null)) bad('config', 'pass the TrainConfig object');
}

async function readHead(ctx: StoreContext, id: string): Promise<RunSummary | undefined> {
  const key = runKey(checkId('run', id));
  const raw = await ctx.backend.get(key).catch((e: unknown) => { throw readError(e, `reading run '${id}'`); });
  return raw === undefined ? undefined : asRunSummary(key, raw);
}

async function writeHead(ctx: StoreContext, head: RunSummary, pages: Array<[string, unknown]> = []): Promise<RunSummary> {
  await ctx.backend.setMany([[runKey(head.id), head], ...pages]).catch((e: unknown) => { throw writeError(e, `saving run '${head.id}'`, 0); });
  return head;
}

/** Creates a run (fresh id unless given), or updates the fields of an existing one (logs kept). */
export async function saveRun(ctx: StoreContext, input: RunFields & { id?: string }, opts: RunLogOptions): Promise<RunSummary> {
  checkRunFields(input);
  const id = checkId('run', input.id ?? newId());
  const fields: RunFields = { name: input.name, adapterId: input.adapterId, config: input.config, status: input.status };
  return ctx.serial(runKey(id), async () => {
    const old = await readHead(ctx, id);
    const t = ctx.now();
    if (old) return writeHead(ctx, { ...old, ...fields, updatedAt: t });
    const log = (pageSize: number, cap: number): PagedLog => ({ pageSize, rows: 0, firstPage: 0, cap });
    return writeHead(ctx, {
      ...fields, schemaVersion: SCHEMA_VERSION, id, createdAt: t, updatedAt: t,
      metricsLog: log(opts.metricsPageSize, 0), samplesLog: log(opts.samplesPageSize, opts.sampleCap),
    });
  });
}

export async function updateRun(ctx: StoreContext, id: string, patch: Partial<RunFields>): Promise<RunSummary> {
  checkRunFields(patch);
  return ctx.serial(runKey(id), async () => {
    const old = await readHead(ctx, id);
    if (!old) throw new StorageNotFoundError('run', id);
    const { name = old.name, adapterId = old.adapterId, config = old.config, status = old.status } = patch;
    return writeHead(ctx, { ...old, name, adapterId, config, status, updatedAt: ctx.now() });
  });
}

/** Appends metric rows (and samples) in one transaction that rewrites only the head and last pages. */
export async function appendRunMetrics(ctx: StoreContext, id: string, rows: MetricRow[], samples: SampleRecord[] = []): Promise<RunSummary> {
  return ctx.serial(runKey(id), async () => {
    const head = await readHead(ctx, id);
    if (!head) throw new StorageNotFoundError('run', id);
    const { metricsLog: m, samplesLog: s } = head;
    const lastKeys = [runLogKey(id, 'm', Math.floor(m.rows / m.pageSize)), runLogKey(id, 's', Math.floor(s.rows / s.pageSize))];
    const [mLast, sLast] = await ctx.backend.getMany(lastKeys).catch((e: unknown) => { throw readError(e, `appending to run '${id}'`); });
    const mp = planAppend(m, asRows<MetricRow>(mLast), rows);
    const sp = planAppend(s, asRows<SampleRecord>(sLast), samples);
    const pages: Array<[string, unknown]> = [
      ...mp.pages.map(([p, r]): [string, unknown] => [runLogKey(id, 'm', p), r]),
      ...sp.pages.map(([p, r]): [string, unknown] => [runLogKey(id, 's', p), r]),
    ];
    const next = await writeHead(ctx, { ...head, metricsLog: mp.log, samplesLog: sp.log, updatedAt: ctx.now() }, pages);
    const dropped: string[] = [];
    for (let p = sp.drop[0]; p < sp.drop[1]; p++) dropped.push(runLogKey(id, 's', p));
    await ctx.backend.delMany(dropped).catch(() => undefined); // leftovers: sweepOrphans
    return next;
  });
}

const asRows = <T>(v: unknown): T[] | undefined => (Array.isArray(v) ? (v as T[]) : undefined);

async function readLog<T>(ctx: StoreContext, id: string, which: 'm' | 's', log: PagedLog): Promise<T[]> {
  const last = Math.ceil(log.rows / log.pageSize);
  const keys: string[] = [];
  for (let p = log.firstPage; p < last; p++) keys.push(runLogKey(id, which, p));
  const pages = await ctx.backend.getMany(keys).catch((e: unknown) => { throw readError(e, `loading run '${id}'`); });
  const out: T[] = [];
  pages.forEach((pg, i) => {
    const want = Math.min(log.pageSize, log.rows - (log.firstPage + i) * log.pageSize);
    if (!Array.isArray(pg) || pg.length < want) {
      throw new CorruptRecordError(keys[i], `page has ${Array.isArray(pg) ? pg.length : 'no'} rows, head says ${want}`);
    }
    for (let j = 0; j < want; j++) out.push(pg[j] as T);
  });
  return out;
}

export async function loadRun(ctx: StoreContext, id: string): Promise<RunRecord> {
  const head = await readHead(ctx, id);
  if (!head) throw new StorageNotFoundError('run', id);
  const metrics = await readLog<MetricRow>(ctx, id, 'm', head.metricsLog);
  const samples = await readLog<SampleRecord>(ctx, id, 's', head.samplesLog);
  const cap = head.samplesLog.cap;
  return { ...head, metrics, samples: cap > 0 ? samples.slice(-cap) : samples };
}

/** Run heads, newest update first; reads no pages. Damaged heads are skipped with a warning. */
export async function listRuns(ctx: StoreContext): Promise<RunSummary[]> {
  const keys = (await ctx.backend.keys().catch((e: unknown) => { throw readError(e, 'listing runs'); })).filter((k) => k.startsWith(RUN_PREFIX));
  const raws = await ctx.backend.getMany(keys).catch((e: unknown) => { throw readError(e, 'listing runs'); });
  const out: RunSummary[] = [];
  raws.forEach((raw, i) => {
    try { out.push(asRunSummary(keys[i], raw)); } catch (e) { console.warn(`[storage] skipping run record ${keys[i]}:`, e); }
  });
  return out.sort((a, b) => b.updatedAt - a.updatedAt);
}

/** Deletes the head, then its pages; false when the run did not exist. */
export async function deleteRun(ctx: StoreContext, id: string): Promise<boolean> {
  const key = runKey(checkId('run', id));
  return ctx.serial(key, async () => {
    const existed = (await ctx.backend.get(key).catch(() => undefined)) !== undefined;
    await ctx.backend.del(key).catch((e: unknown) => { throw writeError(e, `deleting run '${id}'`, 0); });
    const prefix = runLogPrefix(id);
    const pages = (await ctx.backend.keys().catch(() => [] as string[])).filter((k) => k.startsWith(prefix));
    await ctx.backend.delMany(pages).catch(() => undefined); // leftovers: sweepOrphans
    return existed;
  });
}
