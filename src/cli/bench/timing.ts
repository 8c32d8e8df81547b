// GPU timing for benchmarks: `iters` back-to-back dispatches in one submission, timed from submit
// to onSubmittedWorkDone (so per-dispatch overhead counts, as it does in a real step), after warm-up.
import type { GpuContext } from '../../gpu/device';
import { Recorder } from '../../gpu/encoder';

export interface Timing {
  /** mean milliseconds per iteration */
  ms: number;
  iters: number;
}

export async function timeKernel(ctx: GpuContext, encode: (rec: Recorder) => void, opts: { iters?: number; minMs?: number } = {}): Promise<Timing> {
  const run = async (n: number) => {
    const rec = new Recorder(ctx, 'bench');
    for (let i = 0; i < n; i++) encode(rec);
    const t0 = performance.now();
    rec.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await run(2); // warm-up: pipelines, first-touch of buffers
  let iters = opts.iters ?? 0;
  if (!iters) {
    const one = await run(1);
    iters = Math.max(3, Math.min(200, Math.ceil((opts.minMs ?? 200) / Math.max(one, 0.01))));
  }
  const ms = await run(iters);
  return { ms: ms / iters, iters };
}

/** Times an async function that does its own submission and waiting (the tfjs peer). */
export async function timeAsync(fn: () => Promise<void>, iters: number): Promise<Timing> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return { ms: (performance.now() - t0) / iters, iters };
}
