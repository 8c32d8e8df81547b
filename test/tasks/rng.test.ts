// Seeded PRNG: determinism, ranges, uniformity (roughly) and state save/restore.
import { describe, expect, it } from 'vitest';
import { createRng, fromState, RngError } from '../../src/tasks/rng';

describe('rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    expect(createRng(-1).next()).not.toBe(createRng(2 ** 32 - 1).next()); // hi word matters
  });

  it('next() stays in [0, 1) and int() in [lo, hi] inclusive, roughly uniform', () => {
    const r = createRng(7);
    const counts = new Array(6).fill(0);
    let outside = 0;
    for (let i = 0; i < 60_000; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      counts[r.int(1, 6) - 1]++;
    }
    expect(outside).toBe(0);
    for (const k of counts) expect(Math.abs(k - 10_000)).toBeLessThan(500);
    expect(r.int(5, 5)).toBe(5);
    expect(r.int(-3, -3)).toBe(-3);
    const big = r.int(0, 2 ** 32 - 1);
    expect(big >= 0 && big < 2 ** 32).toBe(true);
  });

  it('matches the xoshiro128** reference outputs for state [1, 2, 3, 4]', () => {
    const r = fromState({ algo: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect(Array.from({ length: 6 }, () => r.next() * 2 ** 32)).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('state() / fromState() replays the same stream, also through JSON', () => {
    const r = createRng(123);
    for (let i = 0; i < 10; i++) r.next();
    const saved = JSON.parse(JSON.stringify(r.state()));
    const after = Array.from({ length: 50 }, () => r.int(0, 1000));
    const restored = fromState(saved);
    expect(Array.from({ length: 50 }, () => restored.int(0, 1000))).toEqual(after);
    expect(r.state().s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
  });

  it('shuffle returns a permutation and leaves the input alone; pick picks members', () => {
    const r = createRng(1);
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const ys = r.shuffle(xs);
    expect(xs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...ys].sort((p, q) => p - q)).toEqual(xs);
    expect(xs).toContain(r.pick(xs));
  });

  it('rejects bad seeds, ranges and states with a hint', () => {
    expect(() => createRng(1.5)).toThrow(RngError);
    expect(() => createRng(Number.NaN)).toThrow(/not a safe integer/);
    const r = createRng(0);
    expect(() => r.int(3, 2)).toThrow(/lo <= hi/);
    expect(() => r.int(0, 2 ** 32)).toThrow(RngError);
    expect(() => r.pick([])).toThrow(/empty/);
    expect(() => fromState({ algo: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/all zeros/);
    expect(() => fromState({ algo: 'xoshiro128**', s: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(/4 words/);
    expect(() => fromState({ algo: 'xoshiro128**', s: [1, 2, 3, -4] })).toThrow(/\[0, 2\^32\)/);
    try {
      createRng(0.5);
    } catch (e) {
      expect((e as RngError).hint).toMatch(/integer/);
    }
  });
});
