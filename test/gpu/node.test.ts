// Dawn's polls paced in Node (src/gpu/node.ts): the wrapper spaces native callbacks, leaves JavaScript
// ones alone, and a real map still resolves through it.
import { describe, expect, it } from 'vitest';
import { dawnPollIntervalMs, pacedImmediate } from '../../src/gpu/node';
import { testGpu } from '../helpers/gpu';

/** A native-looking function, as Dawn's addon passes (a bound function's source reads `[native code]` too). */
function nativeFn(body: () => void): () => void {
  const f = body.bind(null);
  Object.defineProperty(f, 'name', { value: '' });
  return f;
}

describe('pacedImmediate', () => {
  it('runs native callbacks no sooner than the interval after the last, sleeping the rest', () => {
    let t = 100;
    const slept: number[] = [];
    const queued: Array<() => void> = [];
    const real = ((fn: () => void) => { queued.push(fn); }) as unknown as typeof setImmediate;
    const paced = pacedImmediate(real, 0.25, () => t, (ms) => { slept.push(ms); t += ms; });
    const ran: number[] = [];
    paced(nativeFn(() => ran.push(t)));
    queued.shift()!(); // the first poll: no wait
    t += 0.05; // the next poll queued 0.05 ms later
    paced(nativeFn(() => ran.push(t)));
    queued.shift()!();
    t += 1; // a poll long after: no wait
    paced(nativeFn(() => ran.push(t)));
    queued.shift()!();
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeCloseTo(0.2, 10);
    expect(ran[1] - ran[0]).toBeCloseTo(0.25, 10);
    expect(ran[2] - ran[1]).toBeCloseTo(1, 10);
  });

  it('passes JavaScript callbacks and their arguments straight through', () => {
    const calls: unknown[][] = [];
    const real = ((fn: (...a: unknown[]) => void, ...args: unknown[]) => { calls.push(args); fn(...args); }) as unknown as typeof setImmediate;
    const paced = pacedImmediate(real, 0.25, () => 0, () => { throw new Error('no sleep for JavaScript callbacks'); });
    let got: unknown[] = [];
    paced((a: number, b: string) => { got = [a, b]; }, 1, 'x');
    expect(got).toEqual([1, 'x']);
    expect(calls).toEqual([[1, 'x']]);
  });

  it('keeps the promisified form of the real one', async () => {
    const { promisify } = await import('node:util');
    const paced = pacedImmediate(setImmediate, 0.25, () => 0, () => {});
    expect(await promisify(paced)('v')).toBe('v');
  });

  it('is installed for the test device, and a map resolves through it', async () => {
    const ctx = await testGpu();
    expect(dawnPollIntervalMs).toBeGreaterThan(0);
    expect(globalThis.setImmediate.name).toBe('paced');
    const b = ctx.memory.upload('paced-map', new Float32Array([1, 2, 3, 4]));
    const s = ctx.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = ctx.device.createCommandEncoder();
    enc.copyBufferToBuffer(b, 0, s, 0, 16);
    ctx.device.queue.submit([enc.finish()]);
    await s.mapAsync(GPUMapMode.READ);
    expect(Array.from(new Float32Array(s.getMappedRange()))).toEqual([1, 2, 3, 4]);
    s.unmap();
    s.destroy();
    ctx.memory.destroy(b);
  });
});
