// GPU timing for benchmarks: `iters` back-to-back dispatches in one submission, timed from submit
// to onSubmittedWorkDone (so per-dispatch overhead counts, as it does in a real step), after warm-up.
// A GPU lowers its clocks within about a second of low use (H100, 2026-12-05: 1,980 MHz under load,
// 345–900 MHz while a benchmark waited on the CPU — the same kernel timed 2–4× slower), so each
// timing first keeps the GPU busy for a while (heatGpu).
import type { GpuContext } from '../../gpu/device';
import { DISPATCHES_PER_SUBMIT, Recorder } from '../../gpu/encoder';
import { CopyKernel } from '../../kernels/copy';

export interface Timing {
  /** mean milliseconds per iteration */
  ms: number;
  iters: number;
}

/**
 * Mean ms per call of `encode`, `iters` calls in one submission (or as many as fit one: a recorder
 * past DISPATCHES_PER_SUBMIT submits its first dispatches while still recording, before the clock
 * would start — that undercounted a 283-dispatch decode step 3× until 2026-12-05). A single call
 * larger than one submission (training's backward) is clocked from the start of its encoding.
 */
export async function timeKernel(ctx: GpuContext, encode: (rec: Recorder) => void, opts: { iters?: number; minMs?: number } = {}): Promise<Timing> {
  let perCall = 0;
  const run = async (n: number) => {
    const rec = new Recorder(ctx, 'bench');
    const tEncode = performance.now();
    for (let i = 0; i < n; i++) encode(rec);
    perCall = rec.dispatches / n;
    if (rec.submits && n > 1) throw new Error(`timeKernel: ${n} calls of ${perCall} dispatches did not fit one submission (${DISPATCHES_PER_SUBMIT}); the timing would miss the flushed part`);
    const t0 = rec.submits ? tEncode : performance.now();
    rec.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await run(1); // warm-up: pipelines, first-touch of buffers; counts the dispatches per call
  const fit = Math.max(1, Math.floor(DISPATCHES_PER_SUBMIT / Math.max(perCall, 1)));
  let iters = Math.min(opts.iters ?? 0, fit);
  if (!iters) {
    await heatGpu(ctx);
    const one = await run(1);
    iters = Math.min(fit, Math.max(3, Math.min(200, Math.ceil((opts.minMs ?? 200) / Math.max(one, 0.01)))));
  }
  await heatGpu(ctx);
  const ms = await run(iters);
  return { ms: ms / iters, iters };
}

const HEAT_BYTES = 32 << 20;

/**
 * Encodes about `ms` milliseconds of memory-bound GPU work (copies between two 32 MiB buffers the
 * caller made with heatBuffers), so the clocks are up when the work after it starts.
 */
export function encodeHeat(rec: Recorder, kernel: CopyKernel, bufs: [GPUBuffer, GPUBuffer], ms = 30): void {
  const n = Math.ceil(ms / 0.03); // a 32 MiB copy: ≈ 0.03 ms at 2.5 TB/s
  for (let i = 0; i < n; i++) kernel.encode(rec, bufs[i & 1], bufs[(i + 1) & 1], HEAT_BYTES / 4);
}

/** Two scratch buffers for encodeHeat (the caller destroys them: benchmarks report peak memory). */
export function heatBuffers(ctx: GpuContext): [GPUBuffer, GPUBuffer] {
  return [ctx.memory.create('heat.a', HEAT_BYTES), ctx.memory.create('heat.b', HEAT_BYTES)];
}

/** Keeps a hardware GPU busy for about `ms` milliseconds and waits for it (before a wall-clock timing). */
export async function heatGpu(ctx: GpuContext, ms = 30): Promise<void> {
  if (ctx.adapter.isFallback) return; // a software adapter has no clocks to raise
  const kernel = await CopyKernel.create(ctx); // its pipeline is cached by ctx.pipelines
  const peak = ctx.memory.peak; // scaffolding: not part of what a benchmark reports as peak memory
  const bufs = heatBuffers(ctx);
  const rec = new Recorder(ctx, 'heat');
  encodeHeat(rec, kernel, bufs, ms);
  rec.submit();
  await ctx.device.queue.onSubmittedWorkDone();
  for (const b of bufs) ctx.memory.destroy(b);
  ctx.memory.peak = peak;
}

/** Times an async function that does its own submission and waiting (the tfjs peer). */
export async function timeAsync(fn: () => Promise<void>, iters: number): Promise<Timing> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await fn();
  return { ms: (performance.now() - t0) / iters, iters };
}
