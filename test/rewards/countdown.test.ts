// Countdown reward: TinyZero's scoring cases (1.0 / 0.1 / 0), its last-line and last-tag rules,
// and the human-readable reasons.
import { describe, expect, it } from 'vitest';
import { countdownReward, countdownRewardDetailed, extractCountdownAnswer } from '../../src/rewards/countdown';
import { RewardInputError } from '../../src/rewards/text';

const task = { nums: [44, 19, 35], target: 98 };
const detail = (c: string, t = task, o = {}) => countdownRewardDetailed(c, t, o);

describe('countdownReward (TinyZero compute_score semantics)', () => {
  it('well-formed and correct → 1.0', () => {
    expect(countdownReward('44 + 19 = 63, 63 + 35 = 98 </think>\n<answer>(44 + 19) + 35</answer>', task)).toBe(1);
    expect(countdownReward('<answer> 35 + 44 + 19 </answer>', task)).toBe(1);
    expect(detail('<answer>44+19+35</answer>').reason).toBe('evaluates to 98, the target');
  });

  it('well-formed but wrong → 0.1 with the value', () => {
    expect(detail('<answer>44 + 19 - 35</answer>')).toEqual({ score: 0.1, reason: 'evaluates to 28, target 98', answer: '44 + 19 - 35' });
    expect(detail('<answer>44 / 19 + 35</answer>').reason).toBe('evaluates to 709/19, target 98');
  });

  it('no answer tag → 0', () => {
    expect(detail('I think it is (44 + 19) + 35')).toEqual({ score: 0, reason: 'no <answer> tag', answer: null });
    expect(detail('<answer>44 + 19 + 35').reason).toBe("'<answer>' is never closed by '</answer>'");
    expect(countdownReward('', task)).toBe(0);
  });

  it('a number used twice, missing, or not given → 0.1', () => {
    expect(detail('<answer>44 + 44 + 10</answer>').reason).toBe('uses 10, which is not in [44, 19, 35]');
    expect(detail('<answer>44 + 19 + 35 + 35 - 35</answer>').reason).toBe('uses 35 3 times');
    expect(detail('<answer>44 + 19 + 19 + 35 - 19</answer>').reason).toBe('uses 19 3 times');
    expect(detail('<answer>19 + 19 + 35 + 44 - 19</answer>').score).toBe(0.1);
    expect(detail('<answer>44 + 44 + 19 + 35 - 44</answer>').reason).toBe('uses 44 3 times');
    expect(detail('<answer>(44 + 35) + 19 + 19 - 19</answer>').score).toBe(0.1);
    expect(detail('<answer>44 + 19</answer>').reason).toBe('does not use 35');
    expect(detail('<answer>44 + 44 + 19 - 35</answer>').reason).toBe('uses 44 twice');
    const dup = { nums: [7, 7, 3], target: 17 };
    expect(detail('<answer>7 + 7 + 3</answer>', dup).score).toBe(1);
    expect(detail('<answer>7 * 3 - 4</answer>', dup).reason).toBe('uses 4, which is not in [7, 7, 3]');
    expect(detail('<answer>7 + 3</answer>', dup).reason).toBe('uses 7 once, but it is given twice');
  });

  it('the last <answer> tag wins', () => {
    expect(countdownReward('<answer>1 + 2</answer> no wait <answer>44 + 19 + 35</answer>', task)).toBe(1);
    expect(countdownReward('<answer>44 + 19 + 35</answer> no wait <answer>44 - 19 + 35</answer>', task)).toBe(0.1);
    // non-overlapping left-to-right matching, as re.finditer: the first <answer> swallows the second
    expect(detail('<answer><answer>44 + 19 + 35</answer>').reason).toMatch(/^parse error at col 1: unexpected '<'/);
  });

  it('only the last line counts, as in TinyZero; lastLineOnly: false searches everything', () => {
    const c = '<answer>44 + 19 + 35</answer>\nDone.';
    expect(detail(c).score).toBe(0);
    expect(detail(c).reason).toBe('no <answer>…</answer> on the last line (TinyZero reads only the last line); the last one is on line 1 of 2');
    expect(detail(c, task, { lastLineOnly: false }).score).toBe(1);
    expect(countdownReward('<answer>44 + 19 + 35</answer>\n', task)).toBe(0); // a trailing newline leaves an empty last line
    expect(countdownReward('<answer>44 +\n19 + 35</answer>', task)).toBe(0); // tags cannot span lines
    expect(detail('<answer>44 +\n19 + 35</answer>', task, { lastLineOnly: false }).score).toBe(1);
    expect(extractCountdownAnswer('a\nb <answer> 1+2 </answer> c')).toBe('1+2');
  });

  it('parse errors, division by zero and rejected syntax → 0.1 with a reason', () => {
    expect(detail('<answer>2**3</answer>', { nums: [2, 3], target: 8 }).reason).toBe("parse error at col 2: '**' (power) is not allowed; only + - * / and parentheses");
    expect(detail('<answer>10.5 * 2</answer>', { nums: [10, 5, 2], target: 21 }).reason).toMatch(/decimal point/);
    expect(detail('<answer>5 / (3 - 3)</answer>', { nums: [5, 3, 3], target: 1 })).toMatchObject({ score: 0.1, reason: 'division by zero at col 3' });
    expect(detail('<answer>44 + 19 + 35 = 98</answer>').reason).toMatch(/'=' is not allowed/);
    expect(detail('<answer></answer>').reason).toBe('parse error at col 1: empty expression');
    expect(detail('<answer>44 + (19 + 35</answer>').reason).toBe("parse error at col 14: missing ')' to close '(' at col 6");
  });

  it('accepts unary minus like Python eval; an "Assistant:" in a completion is plain text', () => {
    expect(countdownReward('<answer>-3 + 5 * 2</answer>', { nums: [3, 5, 2], target: 7 })).toBe(1);
    expect(countdownReward('Assistant: <answer>44 + 19 + 35</answer>', task)).toBe(1);
  });

  it('honours formatScore / score and rejects bad tasks with a hint', () => {
    expect(detail('<answer>1</answer>', task, { formatScore: 0 }).score).toBe(0);
    expect(detail('<answer>44+19+35</answer>', task, { score: 2 }).score).toBe(2);
    expect(() => countdownReward('<answer>1</answer>', { nums: [], target: 1 })).toThrow(RewardInputError);
    expect(() => countdownReward('<answer>1</answer>', { nums: [1.5], target: 1 })).toThrow(/non-negative integers/);
    expect(() => countdownReward('<answer>1</answer>', { nums: [1], target: 0.5 })).toThrow(/target must be an integer/);
  });
});
