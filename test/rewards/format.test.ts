// Format rewards on hand-written completions: R1 think/answer, and Unsloth's xmlcount, soft and
// strict format rewards with the notebook's (Python regex) semantics, quirks included.
import { describe, expect, it } from 'vitest';
import {
  softFormatReward, softFormatRewardFor, strictFormatReward, strictFormatRewardFor, thinkAnswerFormatDetailed,
  thinkAnswerFormatReward, xmlCountReward, xmlCountRewardFor,
} from '../../src/rewards/format';

const PERFECT = '<reasoning>\nadd them\n</reasoning>\n<answer>\n42\n</answer>\n';

describe('thinkAnswerFormat (R1 style)', () => {
  it('accepts a full think block and one that the prompt opened', () => {
    expect(thinkAnswerFormatDetailed('<think>6 * 7 = 42</think>\n<answer>42</answer>')).toEqual({ score: 1, reason: 'well-formed' });
    expect(thinkAnswerFormatDetailed(' 6 * 7 = 42 </think> <answer> 42 </answer>\n')).toEqual({ score: 1, reason: 'well-formed (<think> opened by the prompt)' });
    expect(thinkAnswerFormatReward('\n<think>\na\nb\n</think>\n\n<answer>\n42\n</answer>\n')).toBe(1);
  });

  it('rejects malformed completions with a reason', () => {
    const r = (c: string) => thinkAnswerFormatDetailed(c).reason;
    expect(r('<answer>42</answer>')).toBe('missing </think>');
    expect(r('<think>a</think>')).toBe('missing <answer>');
    expect(r('<think>a</think><answer>42')).toBe('missing </answer>');
    expect(r('<think>a</think><answer>42</answer> and more')).toBe('text after </answer>');
    expect(r('<think>a</think> so <answer>42</answer>')).toBe('text between </think> and <answer>');
    expect(r('x <think>a</think><answer>1</answer>')).toBe('<think> must come first');
    expect(r('<think><think>a</think><answer>1</answer>')).toBe('<think> appears 2 times');
    expect(r('<think>a</think></think><answer>1</answer>')).toBe('</think> appears 2 times');
    expect(r('<think>a</think><answer>1</answer><answer>2</answer>')).toBe('<answer> appears 2 times');
    expect(r('<think>a</think><answer> \n </answer>')).toBe('empty <answer>');
    expect(r('<answer>1</answer><think>a</think>')).toBe('<think> must come first');
    expect(r('a <answer>1</answer> </think>')).toMatch(/out of order/);
    expect(thinkAnswerFormatReward('')).toBe(0);
  });
});

describe('Unsloth notebook rewards', () => {
  it('xmlcount: 0.125 per tag, minus 0.001 per trailing character (Python len)', () => {
    expect(xmlCountReward(PERFECT)).toBeCloseTo(0.5, 12);
    const noFinalNl = PERFECT.slice(0, -1); // 55 chars: "\n</answer>\n" absent → whole text counts
    expect(xmlCountReward(noFinalNl)).toBeCloseTo(0.5 - 0.055 + 0.001, 12);
    expect(xmlCountReward(PERFECT + 'extra')).toBeCloseTo(0.49, 12);
    expect(xmlCountReward(PERFECT + '😀')).toBeCloseTo(0.498, 12); // one code point, two UTF-16 units
    expect(xmlCountReward('')).toBe(0);
    expect(xmlCountReward('<reasoning>\n<reasoning>\n')).toBe(0); // twice is not once
    expect(xmlCountReward('<reasoning>\nx\n</reasoning>\n')).toBeCloseTo(0.25, 12);
    expect(xmlCountRewardFor('think')('<think>\nx\n</think>\n<answer>\n1\n</answer>\n')).toBeCloseTo(0.5, 12);
  });

  it('strict: one line each, final newline required, one more allowed by $', () => {
    expect(strictFormatReward(PERFECT)).toBe(0.5);
    expect(strictFormatReward(PERFECT + '\n')).toBe(0.5);
    expect(strictFormatReward(PERFECT + '\n\n')).toBe(0);
    expect(strictFormatReward(PERFECT.slice(0, -1))).toBe(0);
    expect(strictFormatReward('<reasoning>\nline 1\nline 2\n</reasoning>\n<answer>\n42\n</answer>\n')).toBe(0); // no DOTALL
    expect(strictFormatReward('<reasoning>\n\n</reasoning>\n<answer>\n\n</answer>\n')).toBe(0.5); // empty lines match .*?
    expect(strictFormatReward(' ' + PERFECT)).toBe(0);
    expect(strictFormatRewardFor('think')('<think>\nx\n</think>\n<answer>\n1\n</answer>\n')).toBe(0.5);
  });

  it('soft: re.match without DOTALL, so reasoning must sit on the first line', () => {
    expect(softFormatReward('<reasoning>add</reasoning><answer>42</answer>')).toBe(0.5);
    expect(softFormatReward('<reasoning>add</reasoning>\n \n<answer>42</answer> trailing text')).toBe(0.5);
    expect(softFormatReward('<reasoning>add</reasoning>\u00a0<answer>42</answer>')).toBe(0.5); // Python \s is Unicode
    expect(softFormatReward('x<reasoning>add</reasoning><answer>42</answer>')).toBe(0);
    expect(softFormatReward(PERFECT)).toBe(0); // the notebook's quirk: its own strict format fails soft
    expect(softFormatReward('<reasoning>a</reasoning><answer>\n42</answer>')).toBe(0);
    expect(softFormatReward('<reasoning>a</reasoning> b</reasoning><answer>1</answer>')).toBe(0.5); // backtracks to the 2nd tag
    expect(softFormatReward('<reasoning>a</reasoning><answer>1\n</answer> <answer>2</answer>')).toBe(0); // no newline before </answer>
    expect(softFormatReward('<reasoning>a</reasoning><answer>1 <answer> 2</answer>')).toBe(0.5); // .*? spans tags on one line
    expect(softFormatReward('<reasoning>a</reasoning><answer>1')).toBe(0);
    expect(softFormatRewardFor('think')('<think>a</think> <answer>1</answer>')).toBe(0.5);
  });
});
