// Pure helpers of the panels: chunked JSONL parsing equals the one-shot parser; completions split
// into think/answer/tag/text segments (text only, HTML stays text); sample filters; the task behind a
// training prompt; each built-in's score and reason; chart series read incrementally.
import { describe, expect, it } from 'vitest';
import { parseQaJsonlLines } from '../../src/tasks/dataset';
import { countdownPromptBase, countdownPromptQwenInstruct } from '../../src/tasks/countdown';
import { parseQaJsonlChunked } from '../../src/ui/jsonl-upload';
import { filterSamples, fmtScore, sampleSteps, segmentCompletion } from '../../src/ui/samples';
import { builtinDetailed, countdownFromPrompt, evaluateBuiltins, parseNums, sampleFromPrompt, weightedTotal } from '../../src/ui/reward-eval';
import { SeriesBuffer, dashboardCharts, rewardFunctions } from '../../src/ui/charts/series';
import { BUILTIN_REWARDS } from '../../src/grpo/rewards';
import type { SampleView } from '../../src/worker/protocol';

describe('parseQaJsonlChunked', () => {
  it('matches parseQaJsonlLines for any slice size', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 137; i++) {
      lines.push(i % 11 === 3 ? '{"question": "q"}' : i % 13 === 5 ? '' : i % 17 === 2 ? 'oops' : JSON.stringify({ question: `q${i}`, answer: String(i) }));
    }
    const text = `\uFEFF${lines.join('\r\n')}`;
    const whole = parseQaJsonlLines(text);
    for (const per of [1, 7, 50, 1000]) expect(await parseQaJsonlChunked(text, { linesPerSlice: per, yieldFn: async () => {} })).toEqual(whole);
    expect((await parseQaJsonlChunked('[{"question": "a", "answer": "b"}]')).errors[0]).toMatch(/JSON array/);
  });
});

describe('segmentCompletion', () => {
  it('splits tags; a completion opened by the prompt starts inside <think>', () => {
    expect(segmentCompletion(' 3 + 4 = 7 </think>\n<answer> 3 + 4 </answer>')).toEqual([
      { kind: 'think', text: ' 3 + 4 = 7 ' }, { kind: 'tag', text: '</think>' }, { kind: 'text', text: '\n' },
      { kind: 'tag', text: '<answer>' }, { kind: 'answer', text: ' 3 + 4 ' }, { kind: 'tag', text: '</answer>' },
    ]);
    expect(segmentCompletion('hi <think>a</think>b').map((s) => s.kind)).toEqual(['text', 'tag', 'think', 'tag', 'text']);
    expect(segmentCompletion('<script>alert(1)</script>')).toEqual([{ kind: 'text', text: '<script>alert(1)</script>' }]);
    expect(segmentCompletion('')).toEqual([]);
    const s = 'x<answer>y';
    expect(segmentCompletion(s).map((x) => x.text).join('')).toBe(s);
  });
});

describe('sample filters', () => {
  const mk = (step: number, total: number): SampleView => ({ step, prompt: 'p', completion: `c${step}-${total}`, rewards: { countdown: total }, total });
  const samples = [mk(3, 0.1), mk(3, 1), mk(3, 0), mk(2, 0.1), mk(2, 0.1)];
  it('keeps all, or the best / worst of each step, newest first', () => {
    expect(filterSamples(samples, 'all', null)).toHaveLength(5);
    expect(filterSamples(samples, 'best', null).map((s) => s.completion)).toEqual(['c3-1', 'c2-0.1']);
    expect(filterSamples(samples, 'worst', null).map((s) => s.completion)).toEqual(['c3-0', 'c2-0.1']);
    expect(filterSamples(samples, 'all', 2)).toHaveLength(2);
    expect(sampleSteps(samples)).toEqual([3, 2]);
    expect(fmtScore(0.1 + 0.2)).toBe('0.3');
    expect(fmtScore(-0.0134)).toBe('-0.013');
  });
});

describe('reward evaluation', () => {
  const task = { nums: [44, 19, 35], target: 98 };
  it('recovers the task from both Countdown templates and from dataset rows', () => {
    expect(countdownFromPrompt(countdownPromptBase(task))).toEqual(task);
    expect(countdownFromPrompt(countdownPromptQwenInstruct(task))).toEqual(task);
    expect(countdownFromPrompt('hello')).toBeNull();
    const rows = [{ line: 1, prompt: 'What is 6 * 7?', answer: '42' }];
    expect(sampleFromPrompt('<|im_start|>user\nWhat is 6 * 7?<|im_end|>', rows)).toEqual({ kind: 'qa', question: 'What is 6 * 7?', answer: '42', mode: 'auto' });
    expect(sampleFromPrompt('unknown', rows)).toBeNull();
  });

  it('scores every built-in with a reason', () => {
    const sample = { kind: 'countdown' as const, ...task };
    const good = ' 44 + 19 = 63 </think>\n<answer> 44 + 19 + 35 </answer>';
    expect(builtinDetailed('countdown', good, sample)).toMatchObject({ score: 1, reason: 'evaluates to 98, the target' });
    expect(builtinDetailed('countdown', ' </think>\n<answer> 44 + 19 </answer>', sample).reason).toBe('does not use 35');
    expect(builtinDetailed('think_answer_format', good, sample)).toEqual({ score: 1, reason: 'well-formed (<think> opened by the prompt)' });
    expect(builtinDetailed('correctness', good, sample).score).toBe(0);
    expect(builtinDetailed('correctness', '<answer>42</answer>', { kind: 'qa', question: 'q', answer: '42', mode: 'auto' }).score).toBe(1);
    const all = BUILTIN_REWARDS.map((b) => ({ kind: 'builtin' as const, name: b.name, weight: 1 }));
    const results = evaluateBuiltins([...all, { kind: 'custom', name: 'mine', weight: 2, code: 'x' }], good, sample);
    expect(results.map((r) => r.name)).toEqual([...BUILTIN_REWARDS.map((b) => b.name), 'mine']);
    expect(results.every((r) => r.reason.length > 0)).toBe(true);
    expect(results.at(-1)!.score).toBeNull();
    expect(weightedTotal(results)).toBeCloseTo(results.slice(0, -1).reduce((t, r) => t + r.score!, 0));
    expect(parseNums('44, 19 35')).toEqual([44, 19, 35]);
    expect(parseNums('4, x')).toMatch(/“x” is not/);
  });
});

describe('chart series', () => {
  it('reads rows incrementally and resets when the rows are replaced', () => {
    const rows: Record<string, number>[] = [{ step: 1, reward: 0.1, 'rewards/countdown/mean': 0.1 }, { step: 2, reward: 0.3 }];
    const b = new SeriesBuffer(['reward', 'rewards/countdown/mean']);
    expect(b.sync(rows)).toBe('append');
    expect(b.columns()).toEqual([[1, 2], [0.1, 0.3], [0.1, null]]);
    expect(b.sync(rows)).toBe('none');
    rows.push({ step: 3, reward: Number.NaN, 'rewards/countdown/mean': 1 });
    expect(b.sync(rows)).toBe('append');
    expect(b.latest(0)).toEqual({ x: 2, v: 0.3 });
    expect(b.latest(1)).toEqual({ x: 3, v: 1 });
    expect(b.sync([{ step: 1, reward: 5 }])).toBe('reset');
    expect(b.columns()).toEqual([[1], [5], [null]]);
    expect(b.sync([{ step: 1, reward: 6 }])).toBe('reset');
    expect(rewardFunctions([{ 'rewards/a/mean': 1, 'rewards/a/std': 0 }, { 'rewards/b/mean': 1 }])).toEqual(['a', 'b']);
    const ids = dashboardCharts(['a']).map((c) => c.id);
    expect(ids).toEqual(['reward', 'reward-std', 'kl', 'length', 'loss', 'grad-norm', 'lr', 'tokens', 'memory']);
    expect(dashboardCharts(['a'])[0].series.map((s) => s.key)).toEqual(['reward', 'rewards/a/mean']);
  });
});
