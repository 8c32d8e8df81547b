// timeKernel (bench): every timed call lies in the one submission the clock covers. A recorder past
// DISPATCHES_PER_SUBMIT submits its first dispatches while still recording — before the clock
// starts — so repeats are capped to what fits (a 283-dispatch decode step timed 20 times once
// reported its last 28%). Each repeat still runs: the count of additions shows it.
import { describe, expect, it } from 'vitest';
import { readF32 } from '../../src/gpu/buffers';
import { DISPATCHES_PER_SUBMIT } from '../../src/gpu/encoder';
import { AddKernel } from '../../src/kernels/add';
import { timeKernel } from '../../src/cli/bench/timing';
import { testGpu } from '../helpers/gpu';

describe('timeKernel', () => {
  it('caps repeats to one submission, and a call larger than one still runs whole', async () => {
    const ctx = await testGpu();
    const add = await AddKernel.create(ctx);
    const y = ctx.memory.upload('y', new Float32Array(4));
    const b = ctx.memory.upload('b', new Float32Array(4).fill(1));
    const per = Math.ceil(DISPATCHES_PER_SUBMIT / 3) + 1; // 3 calls would not fit one submission
    const t = await timeKernel(ctx, (rec) => { for (let i = 0; i < per; i++) add.encodeInPlace(rec, y, b, 4, 1); }, { iters: 5 });
    expect(t.iters).toBe(2);
    expect(t.ms).toBeGreaterThan(0);
    expect((await readF32(ctx.device, y))[0]).toBe(per * (1 + 2)); // the warm-up call and the 2 timed
    const big = DISPATCHES_PER_SUBMIT + 10;
    const t1 = await timeKernel(ctx, (rec) => { for (let i = 0; i < big; i++) add.encodeInPlace(rec, y, b, 4, 1); }, { iters: 3 });
    expect(t1.iters).toBe(1);
    expect((await readF32(ctx.device, y))[0]).toBe(per * 3 + big * 2);
    ctx.memory.destroy(y);
    ctx.memory.destroy(b);
  });
});
