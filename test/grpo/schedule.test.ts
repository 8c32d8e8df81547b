// Learning-rate schedules (src/grpo/schedule.ts) against values worked out from transformers'
// lr_lambda formulas and get_warmup_steps (ceil(total · ratio), Python float semantics).
import { describe, expect, it } from 'vitest';
import { lrAt, lrFactor, warmupSteps, ScheduleError, type ScheduleParams } from '../../src/grpo/schedule';

const base = (schedule: ScheduleParams['schedule']): ScheduleParams => ({ schedule, lr: 2e-5, warmupRatio: 0.1, totalSteps: 100 });

describe('warmupSteps', () => {
  it('is ceil(totalSteps · warmupRatio) like TrainingArguments.get_warmup_steps', () => {
    expect(warmupSteps(0.1, 250)).toBe(25);
    expect(warmupSteps(0.1, 7)).toBe(1);
    expect(warmupSteps(0.03, 250)).toBe(8); // 7.5 → 8
    expect(warmupSteps(0, 250)).toBe(0);
    expect(warmupSteps(0.07, 100)).toBe(8); // 0.07·100 = 7.000000000000001 in IEEE doubles, Python agrees
  });
});

describe('lrAt', () => {
  it('cosine: linear warmup from 0, then half a cosine to 0', () => {
    const p = base('cosine'); // 10 warmup steps, 90 decay steps
    expect(lrAt(0, p)).toBe(0); // the first update uses lr 0, as in transformers
    expect(lrAt(5, p)).toBeCloseTo(1e-5, 20);
    expect(lrAt(10, p)).toBeCloseTo(2e-5, 20);
    expect(lrAt(55, p)).toBeCloseTo(1e-5, 18); // midpoint of the decay: cos(π/2) → half
    expect(lrAt(32, p)).toBeCloseTo(2e-5 * 0.5 * (1 + Math.cos(Math.PI * (22 / 90))), 18);
    expect(lrAt(100, p)).toBeCloseTo(0, 20);
  });

  it('linear: warmup then straight to 0 at totalSteps, never negative', () => {
    const p = base('linear');
    expect(lrAt(55, p)).toBeCloseTo(1e-5, 18); // (100 − 55) / 90 = 0.5
    expect(lrAt(100, p)).toBe(0);
    expect(lrAt(120, p)).toBe(0);
  });

  it('constant ignores warmup (get_constant_schedule); constant_with_warmup does not', () => {
    expect(lrAt(0, base('constant'))).toBe(2e-5);
    expect(lrAt(0, base('constant_with_warmup'))).toBe(0);
    expect(lrAt(3, base('constant_with_warmup'))).toBeCloseTo(0.6e-5, 20);
    expect(lrAt(50, base('constant_with_warmup'))).toBe(2e-5);
  });

  it('no warmup: cosine starts at the peak', () => {
    const p = { ...base('cosine'), warmupRatio: 0 };
    expect(lrFactor(0, p)).toBe(1);
    expect(lrFactor(50, p)).toBeCloseTo(0.5, 15);
  });

  it('Unsloth-style run: 250 steps, warmup 0.1 → 25 warmup steps', () => {
    const p: ScheduleParams = { schedule: 'cosine', lr: 5e-6, warmupRatio: 0.1, totalSteps: 250 };
    expect(lrAt(24, p)).toBeCloseTo(5e-6 * 24 / 25, 20);
    expect(lrAt(25, p)).toBe(5e-6);
    expect(lrAt(137, p)).toBeCloseTo(5e-6 * 0.5 * (1 + Math.cos(Math.PI * 112 / 225)), 20);
  });

  it('rejects bad inputs with the value and a hint', () => {
    expect(() => lrAt(-1, base('cosine'))).toThrow(/step must be an integer ≥ 0; got -1/);
    expect(() => lrAt(0, { ...base('cosine'), totalSteps: 0 })).toThrow(ScheduleError);
    expect(() => lrAt(0, { ...base('cosine'), warmupRatio: 1 })).toThrow(/\[0, 1\); got 1/);
    expect(() => lrAt(0, { ...base('cosine'), schedule: 'exp' as never })).toThrow(/unknown lr schedule 'exp'/);
  });
});
