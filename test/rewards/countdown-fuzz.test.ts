// Fuzz: 10,000 random and adversarial completions through the Countdown reward (and the format and
// correctness rewards): never throws, always 0 / 0.1 / 1, and the whole run stays fast (linear work).
import { describe, expect, it } from 'vitest';
import { countdownReward, countdownRewardDetailed } from '../../src/rewards/countdown';
import { correctnessReward } from '../../src/rewards/correctness';
import { softFormatReward, strictFormatReward, thinkAnswerFormatReward, xmlCountReward } from '../../src/rewards/format';
import { createRng } from '../../src/tasks/rng';

const task = { nums: [44, 19, 35], target: 98 };

function adversarial(): string[] {
  const A = (s: string) => `<answer>${s}</answer>`;
  return [
    A('('.repeat(10_000) + '44 + 19 + 35' + ')'.repeat(10_000)),
    A('('.repeat(10_000)), A(')'.repeat(10_000)), A('-'.repeat(10_000) + '98'),
    A('9'.repeat(100_000)), A('1+'.repeat(50_000) + '1'), A('99999999*'.repeat(22)), A('1/'.repeat(99) + '1'),
    A('2**3'), A('2^3'), A('1e9'), A('Infinity'), A('-Infinity'), A('NaN'), A('__proto__'), A('constructor'),
    A('toString'), A('0x62'), A('0b1'), A('98n'), A('44+19+35;'), A('eval("98")'), A('Math.max(98)'),
    A('４４+１９+３５'), A('44+19+35\u200b'), A('\u202e44+19+35'), A('😀'), A('\ud800'), A('\u0000'), A('\\'),
    '<answer>'.repeat(50_000), '</answer>'.repeat(50_000), '<answer></answer>'.repeat(20_000),
    '<answer><answer>44+19+35</answer></answer>', '<answer>' + 'x'.repeat(1_000_000), 'a'.repeat(2_000_000),
    '\n'.repeat(100_000) + A('44+19+35'), A(' '.repeat(100_000) + '44+19+35'), A('44+19+35') + '\n'.repeat(3),
    '<think>' + '<think>'.repeat(10_000) + '</think>' + A('98'), '<reasoning>' + '</reasoning> <answer>'.repeat(20_000) + 'y'.repeat(100_000),
    '<reasoning>\n' + '\n</reasoning>\n<answer>\n'.repeat(10_000), ('\n<answer>\n' + '\n</answer>\n').repeat(10_000),
    A(A(A('44+19+35'))), '<ANSWER>44+19+35</ANSWER>', '< answer>44+19+35</ answer>', '<answer>44+19+35</answer',
  ];
}

const PIECES = [
  '<answer>', '</answer>', '<think>', '</think>', '<reasoning>\n', '\n</reasoning>\n', '\n<answer>\n', '\n</answer>\n',
  '\n', ' ', '\t', '44', '19', '35', '98', '0', '7', '+', '-', '*', '/', '(', ')', '**', '^', '.', 'e', '=', '%',
  'é', '😀', '\u00a0', '####', ',', 'Assistant:', '<|im_end|>', '1,234', '3/4', '-',
];

function randomString(rng: ReturnType<typeof createRng>): string {
  const n = rng.int(0, 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += rng.next() < 0.85 ? rng.pick(PIECES) : String.fromCharCode(rng.int(0, 0xffff));
  }
  if (rng.next() < 0.3) s += `<answer>${rng.shuffle(['44', '19', '35']).join(rng.pick([' + ', '+', ' - ', '*']))}</answer>`;
  return s;
}

describe('countdownReward fuzz', () => {
  it('10,000 random and adversarial strings: never throws, always 0 / 0.1 / 1, fast', () => {
    const rng = createRng(20250101);
    const cases = adversarial();
    while (cases.length < 10_000) cases.push(randomString(rng));
    const seen = new Set<number>();
    const t0 = performance.now();
    for (const c of cases) {
      for (const lastLineOnly of [true, false]) {
        const d = countdownRewardDetailed(c, task, { lastLineOnly });
        expect([0, 0.1, 1]).toContain(d.score);
        expect(d.reason.length).toBeGreaterThan(0);
        expect(d.reason.length).toBeLessThan(400);
        seen.add(d.score);
      }
      expect([0, 0.1, 1]).toContain(countdownReward(c, task));
    }
    const ms = performance.now() - t0;
    expect([...seen].sort()).toEqual([0, 0.1, 1]); // the corpus reaches every outcome
    expect(ms, `fuzz took ${ms.toFixed(0)} ms`).toBeLessThan(10_000);
  });

  it('format and correctness rewards never throw and stay finite on the same corpus', () => {
    const rng = createRng(7);
    const cases = adversarial();
    while (cases.length < 3000) cases.push(randomString(rng));
    const t0 = performance.now();
    for (const c of cases) {
      for (const f of [thinkAnswerFormatReward, xmlCountReward, softFormatReward, strictFormatReward]) {
        expect(Number.isFinite(f(c))).toBe(true);
      }
      expect([0, 1]).toContain(correctnessReward(c, '98', 'auto'));
      expect([0, 1]).toContain(correctnessReward(c, 'forty four', 'exact'));
    }
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
