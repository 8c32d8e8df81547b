// Correctness reward: answer extraction (tag, '####', last number), numeric parsing and tolerance,
// exact matching after whitespace normalisation, and the modes.
import { describe, expect, it } from 'vitest';
import {
  correctnessReward, correctnessRewardDetailed, extractFinalAnswer, lastNumberText, normaliseWhitespace, parseNumber, referenceAnswer,
} from '../../src/rewards/correctness';
import { RewardInputError } from '../../src/rewards/text';

describe('parseNumber', () => {
  it('reads integers, signs, decimals, thousands commas, fractions, $ and %', () => {
    const cases: [string, number | null][] = [
      ['42', 42], ['-3.5', -3.5], ['+.5', 0.5], ['1,234,567.89', 1234567.89], ['1e-3', 0.001], ['3/4', 0.75],
      ['-3/4', -0.75], [' 1 / 3 ', 1 / 3], ['$18', 18], ['-$18', -18], ['50%', 50], ['42.', 42], ['0', 0],
      ['1,23', null], ['abc', null], ['', null], ['-', null], ['1/0', null], ['1e999', null], ['4 2', null], ['.', null],
    ];
    for (const [s, v] of cases) expect(parseNumber(s), s).toBe(v);
  });

  it('finds the last number in text', () => {
    expect(lastNumberText('so 3 apples + 4 = 7 apples.')).toBe('7');
    expect(lastNumberText('total $1,234.50!')).toBe('$1,234.50');
    expect(lastNumberText('the list 1,2,3')).toBe('3');
    expect(lastNumberText('half is 1/2')).toBe('1/2');
    expect(lastNumberText('no digits')).toBeNull();
  });
});

describe('extraction', () => {
  it('prefers the last <answer>, then ####, then the last number', () => {
    expect(extractFinalAnswer('<answer>1</answer> <answer>\n 2 \n</answer> 3')).toEqual({ text: '2', source: 'answer-tag' });
    expect(extractFinalAnswer('work... #### 72\nbye 5')).toEqual({ text: '72', source: 'hash' });
    expect(extractFinalAnswer('it is 12, no 13')).toEqual({ text: '13', source: 'last-number' });
    expect(extractFinalAnswer('it is 12', 'hash')).toBeNull();
    expect(extractFinalAnswer('#### 12', 'none')).toBeNull();
    expect(extractFinalAnswer('it is 12', 'hash-or-last-number', false)).toBeNull();
    expect(referenceAnswer('Natalia sold 48/2 = 24 clips in May.\n#### 72')).toBe('72');
    expect(normaliseWhitespace('  a \n\t b  ')).toBe('a b');
  });
});

describe('correctnessReward', () => {
  it('numeric: equal within 1e-6 relative, any spelling', () => {
    expect(correctnessReward('<answer>1,000</answer>', '1000', 'numeric')).toBe(1);
    expect(correctnessReward('<answer>0.5</answer>', '1/2', 'numeric')).toBe(1);
    expect(correctnessReward('<answer>The answer is $72.</answer>', '72', 'numeric')).toBe(1);
    expect(correctnessReward('<answer>1000000.5</answer>', '1000000', 'numeric')).toBe(1); // 5e-7 relative
    expect(correctnessReward('<answer>1000002</answer>', '1000000', 'numeric')).toBe(0);
    expect(correctnessReward('<answer>0</answer>', '0', 'numeric')).toBe(1);
    expect(correctnessReward('<answer>-72</answer>', '72', 'numeric')).toBe(0);
    expect(correctnessRewardDetailed('<answer>71</answer>', '72').reason).toBe('expected 72, got 71 (from <answer>)');
    expect(correctnessRewardDetailed('<answer>seventy</answer>', '72').reason).toBe('answer "seventy" has no number (from <answer>)');
  });

  it('exact: whitespace-normalised, case-sensitive', () => {
    expect(correctnessReward('<answer>  New   York\n</answer>', 'New York', 'exact')).toBe(1);
    expect(correctnessReward('<answer>new york</answer>', 'New York', 'exact')).toBe(0);
    expect(correctnessReward('<answer>72.0</answer>', '72', 'exact')).toBe(0);
    expect(correctnessRewardDetailed('<answer>Paris</answer>', 'Rome', 'exact').reason).toBe('expected "Rome", got "Paris" (from <answer>)');
  });

  it('auto: numeric when the reference is a number, GSM8K references included', () => {
    expect(correctnessReward('<answer>72.0</answer>', '72')).toBe(1);
    expect(correctnessReward('reasoning ... #### 72', 'She sold 48 + 24 = 72 clips.\n#### 72')).toBe(1);
    expect(correctnessReward('so the result is 72', '72', 'auto')).toBe(1);
    expect(correctnessReward('so the result is Paris', 'Paris', 'auto')).toBe(0); // no last-word fallback for text
    expect(correctnessReward('<answer>Paris</answer>', 'Paris', 'auto')).toBe(1);
    expect(correctnessRewardDetailed('nothing here', '72')).toMatchObject({ score: 0, reason: "no answer found (no <answer> tag, no '####', no number)" });
  });

  it('rejects a non-numeric reference in numeric mode', () => {
    expect(() => correctnessReward('<answer>1</answer>', 'Paris', 'numeric')).toThrow(RewardInputError);
  });
});
