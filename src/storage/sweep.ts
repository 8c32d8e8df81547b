// Garbage collection run at open: deletes tensor chunks no pointer record references (left by a write
// that failed or a tab closed mid-write) and run-log pages of deleted runs or dropped sample pages.
// Chunks of writes still in progress (this tab or, with Web Locks, another) are never touched.

import type { StoreContext } from './context';
import { readError } from './errors';
import { ADAPTER_PREFIX, CHUNK_PREFIX, CKPT_PREFIX, RUNLOG_PREFIX, RUN_PREFIX, chunkWriteId } from './keys';
import { referencedChunks } from './validate';

export interface SweepReport {
  chunksDeleted: number;
  pagesDeleted: number;
}

/** Run-log page keys that no run head still wants (pure). heads: run id → first kept sample page. */
export function orphanPages(keys: string[], heads: Map<string, number>): string[] {
  const out: string[] = [];
  for (const k of keys) {
    if (!k.startsWith(RUNLOG_PREFIX)) continue;
    const [, runId, log, page] = k.split(':');
    const first = heads.get(runId);
    if (first === undefined || (log === 's' && Number(page) < first)) out.push(k);
  }
  return out;
}

export async function sweepOrphans(ctx: StoreContext): Promise<SweepReport> {
  const b = ctx.backend;
  try {
    // Order matters: chunk snapshot, then writes in progress, then pointers (see context.ts).
    const before = await b.keys();
    const inProgress = await ctx.writesInProgress();
    const after = await b.keys();
    const pointerKeys = after.filter((k) => k.startsWith(ADAPTER_PREFIX) || k.startsWith(CKPT_PREFIX));
    const pointers = await b.getMany(pointerKeys);
    const referenced = new Set(pointers.flatMap(referencedChunks));
    const chunks = before.filter((k) => k.startsWith(CHUNK_PREFIX) && !referenced.has(k) && !inProgress.has(chunkWriteId(k) ?? ''));

    const runKeys = after.filter((k) => k.startsWith(RUN_PREFIX));
    const heads = await b.getMany(runKeys);
    const firstSamplePage = new Map<string, number>();
    runKeys.forEach((k, i) => {
      const h = heads[i] as { samplesLog?: { firstPage?: unknown } } | undefined;
      const fp = h?.samplesLog?.firstPage;
      firstSamplePage.set(k.slice(RUN_PREFIX.length), typeof fp === 'number' ? fp : 0);
    });
    // Pages of a run created after `before` are in `after` only; judge pages from `before` alone.
    const pages = orphanPages(before, firstSamplePage);
    await b.delMany([...chunks, ...pages]);
    return { chunksDeleted: chunks.length, pagesDeleted: pages.length };
  } catch (e) {
    throw readError(e, 'sweeping orphaned chunks');
  }
}
