// PlaygroundState: every reward function's score and reason for a typed task and completion (off
// functions shown with weight 0), example completions that score as named, generated tasks, custom
// functions through a scorer (or marked as running in training without one), and the reward set
// tried on the latest training samples. Also the welcome card's numbers and its dismissal.
import { describe, expect, it } from 'vitest';
import { countdownPromptQwenInstruct } from '../../src/tasks/countdown';
import type { CustomScorer } from '../../src/grpo/rewards';
import type { SampleView } from '../../src/worker/protocol';
import { PlaygroundState } from '../../src/ui/state/playground.svelte';
import { TaskState } from '../../src/ui/state/task.svelte';
import { WELCOME_KEY, WelcomeState, welcomeFacts } from '../../src/ui/state/welcome.svelte';

function memoryStore() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) };
}

/** Scores custom functions as the completion's length (or throws for a function named 'bad'). */
const lengthScorer: CustomScorer = {
  async score(fns, completions) {
    return Object.fromEntries(fns.map((f) => [f.name, completions.map((c) => (f.name === 'bad' ? { error: 'TypeError: boom' } : { score: c.length }))]));
  },
};

describe('PlaygroundState', () => {
  it('scores every function with a reason; weights come from the task tab', () => {
    const task = new TaskState(memoryStore());
    const p = new PlaygroundState(task);
    const byName = Object.fromEntries(p.results.map((r) => [r.name, r]));
    expect(byName.countdown).toMatchObject({ score: 1, weight: 1, reason: 'evaluates to 98, the target' });
    expect(byName.think_answer_format).toMatchObject({ score: 1, off: true, weight: 0 });
    expect(p.total).toBe(1);
    p.fill('wrong');
    expect(byNameOf(p).countdown.score).toBe(0.1);
    p.fill('none');
    expect(byNameOf(p).countdown).toMatchObject({ score: 0, reason: 'no <answer> tag' });
    p.fill('right');
    expect(byNameOf(p).countdown.score).toBe(1);
    p.numsText = '1, x';
    expect(p.sample).toMatch(/not a non-negative whole number/);
    expect(p.results).toEqual([]);
    p.generate();
    const s = p.sample;
    expect(typeof s === 'object' && s.kind === 'countdown' && s.nums.length >= 3).toBe(true);
    p.fill('right');
    expect(byNameOf(p).countdown.score).toBe(1);
  });

  it('scores question/answer pairs', () => {
    const p = new PlaygroundState(new TaskState(memoryStore()));
    p.kind = 'qa';
    p.fill('right');
    expect(byNameOf(p).correctness.score).toBe(1);
    p.fill('wrong');
    expect(byNameOf(p).correctness.reason).toMatch(/expected 42, got 420/);
  });

  it('runs custom functions through the scorer, or says they run in training', async () => {
    const task = new TaskState(memoryStore());
    const c = task.addCustom();
    c.name = 'len';
    const none = new PlaygroundState(task);
    expect(byNameOf(none).len.reason).toMatch(/run in training/);
    const p = new PlaygroundState(task, lengthScorer);
    await p.scoreCustom();
    expect(byNameOf(p).len).toMatchObject({ score: p.completion.length, kind: 'custom' });
    expect(p.total).toBe(1 + p.completion.length);
    task.addCustom().name = 'bad';
    await p.scoreCustom();
    expect(byNameOf(p).bad).toMatchObject({ score: 0, error: 'TypeError: boom' });
  });

  it('tries the reward set on the latest step’s samples', async () => {
    const task = new TaskState(memoryStore());
    const prompt = countdownPromptQwenInstruct({ nums: [3, 4, 5], target: 12 });
    const samples: SampleView[] = [
      { step: 5, prompt, completion: ' </think>\n<answer> 3 + 4 + 5 </answer>', rewards: { countdown: 1 }, total: 1 },
      { step: 5, prompt, completion: ' no idea', rewards: { countdown: 0 }, total: 0 },
      { step: 5, prompt: 'who knows', completion: 'x', rewards: {}, total: 0 },
      { step: 4, prompt, completion: 'older', rewards: {}, total: 0 },
    ];
    const fmt = task.rewards.find((r) => r.name === 'think_answer_format')!;
    fmt.enabled = true;
    const p = new PlaygroundState(task, lengthScorer);
    await p.tryOn(samples);
    expect(p.tried.map((t) => t.newTotal)).toEqual([2, 0, null]);
    expect(p.tried[2].problem).toMatch(/not recognised/);
    task.addCustom().name = 'len';
    await p.tryOn(samples);
    expect(p.tried[1].newTotal).toBe(' no idea'.length);
  });
});

function byNameOf(p: PlaygroundState) {
  return Object.fromEntries(p.results.map((r) => [r.name, r]));
}

describe('WelcomeState', () => {
  it('states the default download and GPU memory, and stays dismissed', () => {
    const f = welcomeFacts();
    expect(f.repo).toBe('Qwen/Qwen2.5-1.5B-Instruct');
    expect(f.downloadBytes / 1e9).toBeGreaterThan(3.0);
    expect(f.downloadBytes / 1e9).toBeLessThan(3.2);
    expect(f.trainingBytes / 1e9).toBeGreaterThan(0.8);
    expect(f.trainingBytes / 1e9).toBeLessThan(6);
    const store = memoryStore();
    const w = new WelcomeState(store);
    expect(w.dismissed).toBe(false);
    w.dismiss();
    expect(store.getItem(WELCOME_KEY)).toBe('1');
    expect(new WelcomeState(store).dismissed).toBe(true);
  });
});
