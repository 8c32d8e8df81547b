// GpuTimer (bench): each item runs in a timed pass of its own (Recorder.timed) and gets a GPU time;
// the items' dispatches take effect as if recorded plainly; an item that dispatches nothing is
// refused with a hint instead of reporting a zero.
import { describe, expect, it } from 'vitest';
import { readF32 } from '../../src/gpu/buffers';
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

  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
