// Group-relative advantages (src/grpo/advantages.ts) against the reference fixtures (TRL semantics,
// float64) and hand-computed cases: group / batch / none scaling, NaN rewards, zero-std groups.
import { describe, expect, it } from 'vitest';
import { computeAdvantages, fracRewardZeroStd, AdvantageError } from '../../src/grpo/advantages';
import { listReferenceFixtures, loadReferenceFixture, floats } from '../helpers/fixtures';
import { expectClose } from '../helpers/compare';

describe('computeAdvantages vs reference fixtures', () => {
  const names = listReferenceFixtures();
  it('finds at least one reference-* fixture', () => expect(names.length).toBeGreaterThan(0));

  for (const name of names) {
    it(`${name}: rewards → advantages ('group', unbiased std + 1e-4)`, () => {
      const fx = loadReferenceFixture(name);
      const rewards = floats(fx.tensors, 'rewards');
      const want = floats(fx.tensors, 'advantages');
      // One prompt per fixture unless it says otherwise: G = number of completions.
      const G = typeof fx.cases.num_generations === 'number' ? fx.cases.num_generations : rewards.length;
      const got = computeAdvantages(rewards, G, 'group');
      expectClose(got.advantages, want, 1e-6, `${name} advantages`); // fixture stores f32
      expect(got.fracRewardZeroStd).toBe(0);
    });
  }
});

describe('computeAdvantages semantics', () => {
  const std = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  };

  it('group: each group centred on its own mean and divided by its own unbiased std + 1e-4', () => {
    const r = [1, 0, 0.5, 0.25, 2, 2, 3, 5];
    const { advantages, groupMean, groupStd } = computeAdvantages(r, 4, 'group');
    expect([...groupMean]).toEqual([0.4375, 3]);
    expect(groupStd[0]).toBeCloseTo(std([1, 0, 0.5, 0.25]), 14);
    expect(advantages[0]).toBeCloseTo((1 - 0.4375) / (std([1, 0, 0.5, 0.25]) + 1e-4), 12);
    expect(advantages[7]).toBeCloseTo((5 - 3) / (std([2, 2, 3, 5]) + 1e-4), 12);
  });

  it('batch: centred per group, divided by the std of the whole batch', () => {
    const r = [1, 0, 0.5, 0.25, 2, 2, 3, 5];
    const s = std(r);
    const { advantages } = computeAdvantages(r, 4, 'batch');
    expect(advantages[1]).toBeCloseTo((0 - 0.4375) / (s + 1e-4), 12);
    expect(advantages[6]).toBeCloseTo((3 - 3) / (s + 1e-4), 12);
  });

  it('none: centred only (Dr. GRPO)', () => {
    const { advantages } = computeAdvantages([1, 0, 0, 0], 4, 'none');
    expect([...advantages]).toEqual([0.75, -0.25, -0.25, -0.25]);
  });

  it('a group with equal rewards gets zero advantages and counts in frac_reward_zero_std', () => {
    const r = new Float32Array([1, 1, 1, 1, 0, 1, 0, 1]);
    const res = computeAdvantages(r, 4, 'group');
    expect([...res.advantages.slice(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(res.fracRewardZeroStd).toBe(0.5);
    expect(fracRewardZeroStd(r, 4, 'none')).toBe(0.5); // 'none' still reports group std for logging
    expect(fracRewardZeroStd(r, 4, 'batch')).toBe(0); // TRL tests the batch std under 'batch'
    expect(fracRewardZeroStd([3, 3, 3, 3], 2, 'batch')).toBe(1);
  });

  it('NaN rewards (unscorable) are left out of mean and std and get advantage 0', () => {
    const res = computeAdvantages([1, NaN, 0, 0.5], 4, 'group');
    expect(res.groupMean[0]).toBeCloseTo(0.5, 15);
    expect(res.groupStd[0]).toBeCloseTo(0.5, 15);
    expect(res.advantages[1]).toBe(0);
    expect(res.advantages[0]).toBeCloseTo(0.5 / 0.5001, 12);
    expect(res.rewardMean).toBeCloseTo(0.5, 15);
  });

  it('G = 1: std is undefined, advantages are 0 under group scaling (TRL nan_to_num)', () => {
    const res = computeAdvantages([1, 2, 3], 1, 'group');
    expect([...res.advantages]).toEqual([0, 0, 0]);
    expect(res.fracRewardZeroStd).toBe(1);
  });

  it('reports the batch reward mean and unbiased std (TRL reward, reward_std)', () => {
    const res = computeAdvantages([1, 0, 0.5, 0.25], 2, 'group');
    expect(res.rewardMean).toBeCloseTo(0.4375, 15);
    expect(res.rewardStd).toBeCloseTo(std([1, 0, 0.5, 0.25]), 14);
  });

  it('rejects a batch that is not a multiple of G, with numbers and a hint', () => {
    expect(() => computeAdvantages([1, 2, 3], 2, 'group')).toThrow(/3 entries.*G = 2/);
    try {
      computeAdvantages([], 4, 'group');
    } catch (e) {
      expect(e).toBeInstanceOf(AdvantageError);
      expect((e as AdvantageError).hint).toMatch(/consecutive/);
    }
    expect(() => computeAdvantages([1, 2], 0, 'group')).toThrow(/integer ≥ 1; got 0/);
  });
});
