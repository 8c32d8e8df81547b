// Garbage-collection pauses in a stretch of a benchmark (Node's perf_hooks 'gc' entries): a decode loop
// that stalls once a rollout shows whether the collector is where the time went (node.ts paces Dawn's
// polls, whose garbage made those collections).
import { PerformanceObserver, constants } from 'node:perf_hooks';

export interface GcPauses {
  /** pauses seen, all of them summed and the longest, ms; major: mark-compacts among them */
  count: number;
  totalMs: number;
  maxMs: number;
  major: number;
}

/** Starts watching; the returned function stops and gives the pauses since (entries arrive a tick late, so it awaits one). */
export function watchGc(): () => Promise<GcPauses> {
  const got: GcPauses = { count: 0, totalMs: 0, maxMs: 0, major: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      got.count++;
      got.totalMs += e.duration;
      got.maxMs = Math.max(got.maxMs, e.duration);
      if (((e as unknown as { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) got.major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return async () => {
    await new Promise((r) => setTimeout(r, 10));
    obs.disconnect();
    return got;
  };
}

/** "n pauses (m major), total T ms, longest L ms" */
export function formatGc(g: GcPauses): string {
  return `${g.count} GC pauses (${g.major} major), ${g.totalMs.toFixed(1)} ms in all, longest ${g.maxMs.toFixed(1)} ms`;
}
