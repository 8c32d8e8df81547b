// Reward sets: weighted sums, failing functions isolated (throw, NaN), batch mean/std, validation.
import { describe, expect, it } from 'vitest';
import { combineRewards, meanStd, scoreBatch, validateRewardSet, type RewardFn } from '../../src/rewards/combine';
import { countdownReward } from '../../src/rewards/countdown';
import { thinkAnswerFormatReward } from '../../src/rewards/format';
import { RewardInputError } from '../../src/rewards/text';

type Task = { nums: number[]; target: number };
const set: RewardFn<Task>[] = [
  { name: 'countdown', weight: 1, fn: countdownReward },
  { name: 'format', weight: 0.5, fn: (c) => thinkAnswerFormatReward(c) },
  { name: 'broken', weight: 2, fn: () => { throw new TypeError('x is undefined'); } },
  { name: 'nan', weight: 1, fn: () => Number.NaN },
];
const task = { nums: [44, 19, 35], target: 98 };

describe('combineRewards', () => {
  it('sums weighted scores; a throwing or NaN function gives 0 and an error, the others count', () => {
    const r = combineRewards(set, 'a</think>\n<answer>44 + 19 + 35</answer>', task);
    expect(r.total).toBe(1.5);
    expect(r.scores.map((s) => [s.name, s.score, s.weighted])).toEqual([['countdown', 1, 1], ['format', 1, 0.5], ['broken', 0, 0], ['nan', 0, 0]]);
    expect(r.scores[0].error).toBeUndefined();
    expect(r.scores[2].error).toBe('threw TypeError: x is undefined');
    expect(r.scores[3].error).toBe('returned NaN, not a finite number');
    const odd: RewardFn<Task>[] = [{ name: 'inf', weight: 1, fn: () => Infinity }, { name: 'str', weight: 1, fn: () => '1' as unknown as number }];
    expect(combineRewards(odd, '', task).scores.map((s) => s.error)).toEqual(['returned Infinity, not a finite number', 'returned a string, not a finite number']);
  });

  it('scores a batch with per-function mean and unbiased std', () => {
    const completions = ['<answer>44 + 19 + 35</answer>', '<answer>1</answer>', 'nothing'];
    const b = scoreBatch(set, completions, [task, task, task]);
    expect(b.perCompletion.map((p) => p.total)).toEqual([1, 0.1, 0]);
    const cd = b.stats.find((s) => s.name === 'countdown')!;
    expect(cd.mean).toBeCloseTo(1.1 / 3, 12);
    expect(cd.std).toBeCloseTo(Math.sqrt(((1 - 1.1 / 3) ** 2 + (0.1 - 1.1 / 3) ** 2 + (1.1 / 3) ** 2) / 2), 12);
    expect(b.stats.find((s) => s.name === 'broken')).toEqual({ name: 'broken', mean: 0, std: 0, errors: 3 });
    expect(b.stats.at(-1)?.name).toBe('total');
    expect(() => scoreBatch(set, ['a'], [])).toThrow(/1 completions but 0 samples/);
  });

  it('meanStd handles 0 and 1 values', () => {
    expect(meanStd([])).toEqual({ mean: 0, std: 0 });
    expect(meanStd([3])).toEqual({ mean: 3, std: 0 });
    expect(meanStd([1, 3])).toEqual({ mean: 2, std: Math.SQRT2 });
  });

  it('rejects bad sets with a hint', () => {
    const f = () => 1;
    expect(() => validateRewardSet([{ name: 'a', weight: 1, fn: f }, { name: 'a', weight: 1, fn: f }])).toThrow(/used twice/);
    expect(() => validateRewardSet([{ name: '', weight: 1, fn: f }])).toThrow(RewardInputError);
    expect(() => validateRewardSet([{ name: 'total', weight: 1, fn: f }])).toThrow(/reserved for the weighted sum/);
    expect(() => validateRewardSet([{ name: 'w', weight: Number.NaN, fn: f }])).toThrow(/weight NaN/);
    try {
      validateRewardSet([{ name: 'w', weight: Infinity, fn: f }]);
    } catch (e) {
      expect((e as RewardInputError).hint).toMatch(/finite/);
    }
  });
});
