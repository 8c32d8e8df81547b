// GpuTimer (bench): each item runs in a timed pass of its own (Recorder.timed) and gets a GPU time;
// the items' dispatches take effect as if recorded plainly; an item that dispatches nothing is
// refused with a hint instead of reporting a zero. A capture is timed dispatch by dispatch
// (Recorder.replay's `each`) or whole with dispatches left out.
import { describe, expect, it } from 'vitest';
import { readF32 } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { AddKernel } from '../../src/kernels/add';
import { GpuTimer, median } from '../../src/cli/bench/gpu-timer';
import { testGpu } from '../helpers/gpu';

describe('GpuTimer', () => {
  it('times each item in its own pass, and the items run', async () => {
    const ctx = await testGpu();
    const timer = GpuTimer.create(ctx);
    expect(timer, 'SwiftShader offers timestamp-query').not.toBeNull();
    const add = await AddKernel.create(ctx);
    const n = 1024;
    const y = ctx.memory.upload('y', new Float32Array(n).fill(1));
    const b = ctx.memory.upload('b', new Float32Array(n).fill(1));
    const ms = await timer!.time([(rec) => add.encodeInPlace(rec, y, b, n, 2), (rec) => { add.encodeInPlace(rec, y, b, n, 1); add.encodeInPlace(rec, y, b, n, 1); }]);
    expect(ms).toHaveLength(2);
    for (const t of ms) expect(t).toBeGreaterThanOrEqual(0);
    expect((await readF32(ctx.device, y))[0]).toBe(1 + 2 + 1 + 1);
    const med = await timer!.median([(rec) => add.encodeInPlace(rec, y, b, n, 0)], 3);
    expect(med).toHaveLength(1);
    await expect(timer!.time([() => {}])).rejects.toThrow(/dispatched nothing.*hint/);
    timer!.destroy();
  });

  it('times a capture dispatch by dispatch, and whole with dispatches left out', async () => {
    const ctx = await testGpu();
    const timer = GpuTimer.create(ctx)!;
    const add = await AddKernel.create(ctx);
    const n = 256;
    const y = ctx.memory.upload('y', new Float32Array(n));
    const b = ctx.memory.upload('b', new Float32Array(n).fill(1));
    const cap = new Recorder(ctx, 'capture');
    cap.beginCapture();
    add.encodeInPlace(cap, y, b, n, 1);
    add.encodeInPlace(cap, y, b, n, 10);
    const c = cap.endCapture();
    cap.discard();
    const each = await timer.timeCapture(c);
    expect(each.map((d) => d.label)).toEqual([expect.stringMatching(/\[1×1\]$/), expect.stringMatching(/\[1×1\]$/)]);
    expect((await readF32(ctx.device, y))[0]).toBe(11);
    expect(await timer.timeReplay(c, (i) => i === 1)).toBeGreaterThanOrEqual(0);
    expect((await readF32(ctx.device, y))[0], 'only the kept dispatch ran').toBe(21);
    await expect(timer.timeReplay(c, () => false)).rejects.toThrow(/dispatched nothing/);
    timer.destroy();
  });

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
