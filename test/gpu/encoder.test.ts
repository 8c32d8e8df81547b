// Recorder capture and replay: a captured run of dispatches and copies gives the same results when
// replayed in a fresh recorder (parameters rewritten to the offsets its bind groups point at), and
// misuse (replay at another parameter offset, submit inside a capture) is refused with a hint.
// Cut recorders: command buffers every `cutEvery` dispatches, submitted as cut or held (defer) until
// submit() — each with its own parameters, in order, after work queued in between. Recorders open side
// by side keep their own parameters.
import { describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/encoder';
import { readF32 } from '../../src/gpu/buffers';
import { AddKernel } from '../../src/kernels/add';
import { testGpu } from '../helpers/gpu';

describe('Recorder capture / replay', () => {
  it('replays dispatches with their own parameters, and copies, in a fresh recorder', async () => {
    const ctx = await testGpu();
    const add = await AddKernel.create(ctx);
    const n = 300;
    const m = ctx.memory;
    const y = m.upload('y', new Float32Array(n).fill(1));
    const b = m.upload('b', Float32Array.from({ length: n }, (_, i) => i));
    const out = m.create('out', n * 4);
    // y += 2·b; y += 0.5·b; out = y
    const first = new Recorder(ctx, 'capture');
    first.beginCapture();
    add.encodeInPlace(first, y, b, n, 2);
    add.encodeInPlace(first, y, b, n, 0.5);
    first.copy(y, 0, out, 0, n * 4);
    const cap = first.endCapture();
    first.submit();
    expect(cap.dispatches).toBe(2);
    expect(Array.from((await readF32(ctx.device, out)).subarray(0, 3))).toEqual([1, 3.5, 6]);
    for (let step = 2; step <= 3; step++) {
      const rec = new Recorder(ctx, 'replay');
      rec.replay(cap);
      rec.submit();
      const got = await readF32(ctx.device, out);
      expect(got[0]).toBe(1);
      expect(got[n - 1]).toBeCloseTo(1 + 2.5 * step * (n - 1), 3);
    }
    [y, b, out].forEach((buf) => m.destroy(buf));
  });

  it('recorders open side by side keep their own parameters, and later ones reuse the staging passed on at a submit', async () => {
    const ctx = await testGpu();
    const add = await AddKernel.create(ctx);
    const n = 64;
    const m = ctx.memory;
    const b = m.upload('b', new Float32Array(n).fill(1));
    const y = m.upload('y', new Float32Array(n));
    const a = new Recorder(ctx, 'a');
    const c = new Recorder(ctx, 'c'); // open while a records: its own staging
    add.encodeInPlace(a, y, b, n, 1);
    add.encodeInPlace(c, y, b, n, 10);
    a.submit();
    add.encodeInPlace(c, y, b, n, 100); // c goes on after a's submit
    c.submit();
    for (let i = 0; i < 3; i++) { const r = new Recorder(ctx, `r${i}`); add.encodeInPlace(r, y, b, n, 1000); r.submit(); } // staging reused
    const got = await readF32(ctx.device, y);
    expect(got[0]).toBe(3111);
    expect(got[n - 1]).toBe(3111);
    [b, y].forEach((buf) => m.destroy(buf));
  });

  it('cut every 3 dispatches: submitted as cut, or held until submit() (queued after a write made in between), each part with its own parameters', async () => {
    const ctx = await testGpu();
    const add = await AddKernel.create(ctx);
    const n = 64;
    const m = ctx.memory;
    const b = m.upload('b', new Float32Array(n).fill(1));
    for (const defer of [false, true]) {
      const y = m.upload('y', new Float32Array(n));
      const rec = new Recorder(ctx, 'cut', { cutEvery: 3, defer });
      for (let k = 1; k <= 8; k++) add.encodeInPlace(rec, y, b, n, k); // y += k·b, 8 dispatches of their own scale
      expect(rec.submits).toBe(defer ? 0 : 2); // cut before dispatches 4 and 7
      // a write queued now: parts submitted as they were cut ran before it, held parts run after it
      ctx.device.queue.writeBuffer(y, 0, new Float32Array(n).fill(100));
      rec.submit();
      expect(rec.submits).toBe(3);
      const got = await readF32(ctx.device, y);
      // submitted as cut: parts 1 and 2 (1 + … + 6) before the write, part 3 (7 + 8) after it; held: all 36 after it
      expect(got[0]).toBe(defer ? 100 + 36 : 100 + 15);
      expect(got[n - 1]).toBe(got[0]);
      m.destroy(y);
    }
    m.destroy(b);
  });

  it('refuses a replay at another parameter offset, and a submit inside a capture', async () => {
    const ctx = await testGpu();
    const add = await AddKernel.create(ctx);
    const y = ctx.memory.create('y', 64);
    const b = ctx.memory.create('b', 64);
    const rec = new Recorder(ctx, 'capture');
    rec.beginCapture();
    add.encodeInPlace(rec, y, b, 16);
    expect(() => rec.submit()).toThrow(/endCapture\(\) first/);
    const cap = rec.endCapture();
    rec.discard();
    const other = new Recorder(ctx, 'other');
    add.encodeInPlace(other, y, b, 16); // parameters now past the capture's offset
    expect(() => other.replay(cap)).toThrow(/replayed at byte 256.*same commands/);
    other.discard();
    ctx.memory.destroy(y);
    ctx.memory.destroy(b);
  });
});
