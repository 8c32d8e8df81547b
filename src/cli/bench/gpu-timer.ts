// GPU time of single dispatches from timestamp queries: each measured item runs in a compute pass of
// its own whose start and end the GPU stamps (Recorder.timed), so the time is the kernel's on the
// GPU — no submission, CPU or read-back, and none of the gaps between passes. Needs the device's
// timestamp-query feature; Dawn quantizes timestamps unless started with
// disable-dawn-features=timestamp_quantization (BENCH_GPU_FLAGS). Every timed submission starts with
// busy work so the GPU's clocks are up (timing.ts).
import type { GpuContext } from '../../gpu/device';
import { Recorder, type Capture } from '../../gpu/encoder';
import { CopyKernel } from '../../kernels/copy';
import { encodeHeat, heatBuffers } from './timing';
import { NODE_GPU_FLAGS } from '../../gpu/node';

/** nodeGpu flags for benchmarks: the CLI's (subgroup matrices, shader-f16 on NVIDIA's Vulkan driver) and unquantized timestamps. */
export const BENCH_GPU_FLAGS = [...NODE_GPU_FLAGS, 'disable-dawn-features=timestamp_quantization'];

/** Query pairs per submission (WebGPU allows 4096 queries per set). */
const PAIRS = 2048;

export class GpuTimer {
  private heat: [GPUBuffer, GPUBuffer] | null = null;

  private constructor(
    private ctx: GpuContext,
    private set: GPUQuerySet,
    private resolved: GPUBuffer,
    private read: GPUBuffer,
  ) {}

  /** null where the device has no timestamp-query feature. */
  static create(ctx: GpuContext): GpuTimer | null {
    if (!ctx.features.timestamp) return null;
    const set = ctx.device.createQuerySet({ type: 'timestamp', count: 2 * PAIRS });
    const resolved = ctx.memory.create('timer.resolved', 2 * PAIRS * 8, 0x200 | 0x04); // QUERY_RESOLVE | COPY_SRC
    const read = ctx.memory.create('timer.read', 2 * PAIRS * 8, 0x01 | 0x08); // MAP_READ | COPY_DST
    return new GpuTimer(ctx, set, resolved, read);
  }

  /**
   * Runs items[0], items[1], … once each, each in a pass of its own, in one submission (in chunks
   * of PAIRS); returns each item's GPU milliseconds. Throws where an item dispatched nothing
   * (Recorder.timed) or the GPU wrote end before start.
   */
  async time(items: Array<(rec: Recorder) => void>): Promise<number[]> {
    const out: number[] = [];
    for (let at = 0; at < items.length; at += PAIRS) {
      const chunk = items.slice(at, at + PAIRS);
      const rec = await this.heated();
      chunk.forEach((item, i) => rec.timed(this.set, 2 * i, () => item(rec)));
      out.push(...(await this.finish(rec, chunk.length, at)));
    }
    return out;
  }

  /**
   * A recorder that starts with ~30 ms of busy GPU work (timing.ts heat), so the clocks are up when the
   * timed passes run (not on a software adapter). A capture replays at parameter byte 0: there the heat
   * goes in a submission of its own.
   */
  private async heated(c?: Capture): Promise<Recorder> {
    if (this.ctx.adapter.isFallback) return new Recorder(this.ctx, 'gpu-timer'); // a CPU has no clocks to raise
    const kernel = await CopyKernel.create(this.ctx);
    this.heat ??= heatBuffers(this.ctx);
    const rec = new Recorder(this.ctx, 'gpu-timer');
    encodeHeat(rec, kernel, this.heat);
    if (!c) return rec;
    rec.submit(); // the queue runs the timed submission right after it
    return new Recorder(this.ctx, 'gpu-timer');
  }

  /** Resolves and reads the first n query pairs of what rec timed, submitting it; ms per pair. */
  private async finish(rec: Recorder, n: number, first: number): Promise<number[]> {
    const ts = await this.readRaw(rec, n);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const ns = Number(ts[2 * i + 1] - ts[2 * i]);
      if (ns < 0) throw new Error(`GpuTimer: item ${first + i} ended before it began (${ts[2 * i]} → ${ts[2 * i + 1]} ns); hint: the device's timestamps are not usable for timing`);
      out.push(ns / 1e6);
    }
    return out;
  }

  /** Resolves and reads the first n query pairs (GPU nanoseconds), submitting rec. */
  private async readRaw(rec: Recorder, n: number): Promise<BigUint64Array> {
    rec.resolveQueries(this.set, 0, 2 * n, this.resolved);
    rec.copy(this.resolved, 0, this.read, 0, 2 * n * 8);
    rec.submit();
    await this.read.mapAsync(1 /* READ */, 0, 2 * n * 8);
    const ts = new BigUint64Array(this.read.getMappedRange(0, 2 * n * 8).slice(0));
    this.read.unmap();
    return ts;
  }

  /** generate()'s timeStep hook: step s of a decode loop in a timed pass, at query pair s (steps < PAIRS). */
  readonly stepHook = (rec: Recorder, s: number, encode: () => void): void => {
    if (s >= PAIRS) encode();
    else rec.timed(this.set, 2 * s, encode);
  };

  /**
   * After a generate() with stepHook: each timed step's GPU time (its pass: forward, LM head,
   * sampling) and the GPU time from the end of the step before it to its start (idle, or the
   * read-back copies), ms, for steps first…n−1.
   */
  async loopSteps(first: number, n: number): Promise<{ busyMs: number[]; gapMs: number[] }> {
    const m = Math.min(n, PAIRS);
    const ts = await this.readRaw(new Recorder(this.ctx, 'gpu-timer'), m);
    const busyMs: number[] = [];
    const gapMs: number[] = [];
    for (let s = first; s < m; s++) {
      busyMs.push(Number(ts[2 * s + 1] - ts[2 * s]) / 1e6);
      if (s > first) gapMs.push(Number(ts[2 * s] - ts[2 * s - 1]) / 1e6);
    }
    return { busyMs, gapMs };
  }

  /**
   * GPU milliseconds of each dispatch of a capture (made at parameter byte 0, e.g. in a fresh
   * recorder), each in a timed pass of its own, labelled by pipeline and workgroup grid (past PAIRS
   * dispatches, in several replays).
   */
  async timeCapture(c: Capture): Promise<Array<{ label: string; ms: number }>> {
    const labels = c.ops.flatMap((op) => (op.kind === 'dispatch' ? [`${op.pipeline.label} [${op.x}×${op.y}${op.z > 1 ? `×${op.z}` : ''}]`] : []));
    const ms: number[] = [];
    // PAIRS dispatches timed a replay; the rest of each replay runs untimed (in order: what they write, later ones read)
    for (let at = 0; at < c.dispatches; at += PAIRS) {
      const rec = await this.heated(c);
      rec.replay(c, (i, encode) => (i >= at && i < at + PAIRS ? rec.timed(this.set, 2 * (i - at), encode) : encode()));
      ms.push(...(await this.finish(rec, Math.min(PAIRS, c.dispatches - at), at)));
    }
    return ms.map((t, i) => ({ label: labels[i], ms: t }));
  }

  /**
   * GPU milliseconds of a capture replayed whole in one timed pass (made at parameter byte 0), with
   * only the dispatches `keep` accepts (all by default): leaving a kernel out gives its marginal cost
   * in the step, gaps and overlap with its neighbours included.
   */
  async timeReplay(c: Capture, keep: (dispatch: number) => boolean = () => true): Promise<number> {
    const rec = await this.heated(c);
    rec.timed(this.set, 0, () => rec.replay(c, (i, encode) => { if (keep(i)) encode(); }));
    return (await this.finish(rec, 1, 0))[0];
  }

  /** Median GPU milliseconds of `repeats` runs of each item (all runs in one submission, after one warm-up run each). */
  async median(items: Array<(rec: Recorder) => void>, repeats: number): Promise<number[]> {
    await this.time(items);
    const runs = await this.time(Array.from({ length: repeats }, () => items).flat());
    return items.map((_, i) => median(Array.from({ length: repeats }, (_, r) => runs[r * items.length + i])));
  }

  destroy(): void {
    if (this.heat) for (const b of this.heat) this.ctx.memory.destroy(b);
    this.set.destroy();
    this.ctx.memory.destroy(this.resolved);
    this.ctx.memory.destroy(this.read);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
