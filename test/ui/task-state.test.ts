// TaskState: the three example tasks are the first three prompts training draws (same generator,
// same seed); the rendered prompt follows the template; a JSONL upload reports rows and
// line-numbered errors; reward specs come from enabled entries; problems are named; switching the
// task kind swaps the default reward until the list is edited; settings survive a reload.
import { describe, expect, it } from 'vitest';
import { createPromptSource } from '../../src/grpo/tasks';
import { COUNTDOWN_QWEN_SYSTEM } from '../../src/tasks/countdown';
import { CUSTOM_TEMPLATE, TaskState } from '../../src/ui/state/task.svelte';

function memoryStore() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

const tok = { encode: () => [1, 2, 3], applyChatTemplate: () => 'chat:' };

describe('TaskState: Countdown', () => {
  it('shows the first three training tasks and their prompt', () => {
    const t = new TaskState(memoryStore());
    t.countdown.seed = 7;
    t.countdown.template = 'base';
    expect(t.examples).toHaveLength(3);
    const drawn = createPromptSource(t.taskSpec(), tok).next(3);
    drawn.forEach((p, i) => expect(p.sample).toEqual({ kind: 'countdown', nums: t.examples[i].nums, target: t.examples[i].target }));
    expect(drawn[0].text).toBe(t.promptText);
    expect(t.promptText).toMatch(/^A conversation between User and Assistant/);
    expect(t.promptText).toContain(`[${t.examples[0].nums.join(', ')}]`);
    t.countdown.template = 'instruct';
    expect(t.promptText).toContain(COUNTDOWN_QWEN_SYSTEM);
    expect(t.promptText.endsWith('<think>')).toBe(true);
    t.countdown.minNums = 4;
    expect(t.examples.every((e) => e.nums.length === 4)).toBe(true);
  });

  it('names bad settings and gives no examples for them', () => {
    const t = new TaskState(memoryStore());
    t.countdown.minNums = 5;
    t.countdown.maxNums = 3;
    expect(t.taskIssues[0]).toMatch(/smallest count \(5\) is above the largest \(3\)/);
    expect(t.examples).toEqual([]);
    t.countdown.maxNums = 9;
    expect(t.taskIssues[0]).toMatch(/from 2 to 6/);
    expect(t.valid).toBe(false);
  });
});

describe('TaskState: dataset', () => {
  it('counts rows and lists bad lines by number; training refuses while any remain', async () => {
    const t = new TaskState(memoryStore());
    t.setKind('dataset');
    expect(t.taskIssues[0]).toMatch(/upload a JSONL file/);
    await t.loadFile('qa.jsonl', '{"question": "1+1?", "answer": "2"}\n\n{"question": "x"}\nnot json\n{"question": "2+2?", "answer": 4}\n');
    expect(t.dataset.rows).toHaveLength(2);
    expect(t.dataset.errors).toEqual(['line 3: missing "answer"', expect.stringMatching(/^line 4: not valid JSON/)]);
    expect(t.taskIssues[0]).toMatch(/2 bad lines/);
    await t.loadFile('ok.jsonl', '{"question": "1+1?", "answer": "2"}\n');
    expect(t.taskIssues).toEqual([]);
    expect(t.taskSpec()).toEqual({ kind: 'dataset', name: 'ok.jsonl', jsonl: '{"question": "1+1?", "answer": "2"}\n', answerMode: 'auto', seed: 42 });
    expect(t.exampleSample()).toEqual({ kind: 'qa', question: '1+1?', answer: '2', mode: 'auto' });
  });
});

describe('TaskState: rewards', () => {
  it('swaps the default reward with the task kind until the list is edited', () => {
    const t = new TaskState(memoryStore());
    expect(t.rewardSpecs()).toEqual([{ kind: 'builtin', name: 'countdown', weight: 1 }]);
    t.setKind('dataset');
    expect(t.rewardSpecs()).toEqual([{ kind: 'builtin', name: 'correctness', weight: 1 }]);
    t.setKind('countdown');
    const fmt = t.rewards.find((r) => r.name === 'think_answer_format')!;
    fmt.enabled = true;
    fmt.weight = 0.5;
    t.touchRewards();
    t.setKind('dataset');
    expect(t.rewardSpecs().map((r) => r.name)).toEqual(['countdown', 'think_answer_format']);
    expect(t.rewardWarnings[0]).toMatch(/countdown reward scores 0 on dataset questions/);
  });

  it('adds custom functions with a template and names their problems', () => {
    const t = new TaskState(memoryStore());
    const c = t.addCustom();
    expect(c.code).toBe(CUSTOM_TEMPLATE);
    expect(t.rewardIssues).toEqual([]);
    expect(t.rewardSpecs()).toContainEqual({ kind: 'custom', name: 'custom_1', weight: 1, code: CUSTOM_TEMPLATE });
    const entry = t.rewards.find((r) => r.kind === 'custom')!;
    entry.name = 'countdown';
    expect(t.rewardIssues[0]).toMatch(/taken by a built-in/);
    entry.name = 'total';
    expect(t.rewardIssues[0]).toMatch(/reserved/);
    entry.name = 'mine';
    (entry as { code: string }).code = '  ';
    expect(t.rewardIssues[0]).toMatch(/code is empty/);
    t.removeCustom((entry as { id: number }).id);
    for (const r of t.rewards) r.weight = 0;
    expect(t.rewardIssues[0]).toMatch(/every reward weight is 0/);
    for (const r of t.rewards) r.enabled = false;
    expect(t.rewardIssues[0]).toMatch(/no reward functions/);
  });

  it('applies the reward set to a running training and reports the outcome', async () => {
    const t = new TaskState(memoryStore());
    const sent: unknown[] = [];
    await t.applyTo({ updateRewards: async (r) => { sent.push(r); } });
    expect(sent).toEqual([[{ kind: 'builtin', name: 'countdown', weight: 1 }]]);
    expect(t.applyStatus?.ok).toBe(true);
    await t.applyTo({ updateRewards: async () => { throw Object.assign(new Error('no run'), { hint: 'start one' }); } });
    expect(t.applyStatus).toEqual({ ok: false, text: 'not applied: no run (start one)' });
  });

  it('remembers settings, rewards and a small uploaded file across reloads', async () => {
    const store = memoryStore();
    const t = new TaskState(store);
    t.countdown.seed = 99;
    t.addCustom().name = 'len';
    t.save();
    await t.loadFile('a.jsonl', '{"question": "q", "answer": "1"}');
    t.setKind('dataset');
    const again = new TaskState(store);
    await new Promise((r) => setTimeout(r, 10));
    expect(again.kind).toBe('dataset');
    expect(again.countdown.seed).toBe(99);
    expect(again.rewards.filter((r) => r.kind === 'custom').map((r) => r.name)).toEqual(['len']);
    expect(again.dataset.rows).toHaveLength(1);
  });
});
