// Random-fill kernel vs its CPU reference, bit for bit, for each fill kind; plus the statistics that
// make the values plausible weights (bf16 normal: mean ≈ 0, std ≈ σ; f16 scales inside the range).
import { describe, expect, it } from 'vitest';
import { RandomFillKernel } from '../../src/kernels/random_fill';
import { randomFillRef, type RandomFill } from '../../src/reference/random_fill';
import { readBuffer } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { f16BitsToF32 } from '../../src/formats/q4';
import { bf16BitsToF32 } from '../../src/formats/weights';
import { testGpu } from '../helpers/gpu';

const FILLS: Array<[string, RandomFill]> = [
  ['bits', { kind: 'bits' }],
  ['f16 scales in [0.001, 0.05)', { kind: 'f16-range', lo: 0.001, hi: 0.05 }],
  ['bf16 N(0, 0.02²)', { kind: 'bf16-normal', std: 0.02 }],
];

describe('random_fill', () => {
  for (const [name, fill] of FILLS) {
    it(`${name}: matches the reference at an offset, leaves the rest`, async () => {
      const ctx = await testGpu();
      const [total, offset, n, seed] = [3000, 37, 2900, 1234567];
      const k = await RandomFillKernel.create(ctx);
      const buf = ctx.memory.upload('dst', new Uint32Array(total).fill(0xdeadbeef));
      const rec = new Recorder(ctx, 'test');
      k.encode(rec, buf, offset, n, fill, seed);
      rec.submit();
      const got = new Uint32Array(await readBuffer(ctx.device, buf));
      ctx.memory.destroy(buf);
      const want = new Uint32Array(total).fill(0xdeadbeef);
      want.set(randomFillRef(n, fill, seed), offset);
      const diff = got.findIndex((v, i) => v !== want[i]);
      expect(diff, `word ${diff}: ${got[diff]?.toString(16)} vs ${want[diff]?.toString(16)}`).toBe(-1);
    });
  }

  it('values are plausible weights and scales', () => {
    const n = 20000;
    const w = new Uint16Array(randomFillRef(n, { kind: 'bf16-normal', std: 0.02 }, 1).buffer);
    const x = Array.from(w, bf16BitsToF32);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.0005);
    const s = Array.from(new Uint16Array(randomFillRef(n, { kind: 'f16-range', lo: 0.001, hi: 0.05 }, 2).buffer), f16BitsToF32);
    expect(Math.min(...s)).toBeGreaterThanOrEqual(0.001 - 1e-6);
    expect(Math.max(...s)).toBeLessThan(0.05);
    const bits = randomFillRef(n, { kind: 'bits' }, 3);
    expect(new Set(bits).size).toBeGreaterThan(n - 5); // no short cycle
    expect(randomFillRef(10, { kind: 'bits' }, 4)).not.toEqual(randomFillRef(10, { kind: 'bits' }, 5));
  });
});
