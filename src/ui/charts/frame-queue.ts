// Spreads UI work over animation frames so no frame becomes one long main-thread task:
// `nextFrame` coalesces requests per key (a later one replaces an earlier one) and runs them in the
// coming frames within a time budget, carrying the rest to the next frame; `oneEachFrame` runs
// heavier jobs (creating a chart) one per frame, in order. `chartWork` keeps the durations of the
// latest chart updates, redraw frames and chart creations (tests check they stay far below 50 ms).
const raf: (fn: () => void) => unknown = typeof requestAnimationFrame === 'function' ? (fn) => requestAnimationFrame(fn) : (fn) => setTimeout(fn, 16);
const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** ms of queued work per frame before the rest waits for the next frame */
export const FRAME_BUDGET_MS = 8;

const KEEP = 512;
/** ms of the latest (at most 512) chart updates, redraw frames and chart creations */
export const chartWork = { updates: [] as number[], frames: [] as number[], builds: [] as number[] };

function record(list: number[], ms: number): void {
  if (list.length >= KEEP) list.shift();
  list.push(ms);
}

/** Runs `fn` and records its duration as one chart update. */
export function timedUpdate(fn: () => void): void {
  const t0 = now();
  fn();
  record(chartWork.updates, now() - t0);
}

const pending = new Map<object, () => void>();
let scheduled = false;

function runPending(): void {
  scheduled = false;
  const t0 = now();
  for (const [key, job] of pending) {
    pending.delete(key);
    job();
    if (now() - t0 > FRAME_BUDGET_MS) break;
  }
  record(chartWork.frames, now() - t0);
  if (pending.size) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  raf(runPending);
}

/** Runs `fn` in a coming animation frame; a later request with the same key replaces an earlier one. */
export function nextFrame(key: object, fn: () => void): void {
  pending.set(key, fn);
  schedule();
}

const heavy: (() => void)[] = [];
let heavyRunning = false;

/** Queues `fn`; queued jobs run one per animation frame, in order. */
export function oneEachFrame(fn: () => void): void {
  heavy.push(fn);
  if (heavyRunning) return;
  heavyRunning = true;
  const tick = () => {
    const job = heavy.shift();
    if (!job) { heavyRunning = false; return; }
    const t0 = now();
    job();
    record(chartWork.builds, now() - t0);
    raf(tick);
  };
  raf(tick);
}
