// Countdown generator (seeded, ranges, reachable targets), solver, and TinyZero's prompt templates.
import { describe, expect, it } from 'vitest';
import { countdownReward } from '../../src/rewards/countdown';
import {
  COUNTDOWN_3TO4, countdownChat, countdownPromptBase, countdownPromptQwenInstruct, generateCountdownTask,
  generateCountdownTasks, solveCountdown,
} from '../../src/tasks/countdown';
import { createRng, fromState } from '../../src/tasks/rng';
import { TaskError } from '../../src/tasks/types';

describe('generateCountdownTask', () => {
  it('is deterministic for a seed and resumable from a saved state', () => {
    const a = generateCountdownTasks(createRng(42), 50);
    expect(generateCountdownTasks(createRng(42), 50)).toEqual(a);
    expect(generateCountdownTasks(createRng(41), 50)).not.toEqual(a);
    const r = createRng(42);
    generateCountdownTasks(r, 20);
    expect(generateCountdownTasks(fromState(r.state()), 30)).toEqual(a.slice(20));
  });

  it('gives 3–4 numbers in 1..99 and a target in 10..100 that the solver reaches', () => {
    const tasks = generateCountdownTasks(createRng(2024), 1000);
    const sizes = new Set<number>();
    for (const t of tasks) {
      sizes.add(t.nums.length);
      expect(t.nums.length).toBeGreaterThanOrEqual(3);
      expect(t.nums.length).toBeLessThanOrEqual(4);
      for (const n of t.nums) expect(Number.isInteger(n) && n >= 1 && n <= 99).toBe(true);
      expect(Number.isInteger(t.target) && t.target >= 10 && t.target <= 100).toBe(true);
      expect(countdownReward(`<answer>${t.solution}</answer>`, t)).toBe(1); // its own solution is right
      const s = solveCountdown(t.nums, t.target);
      expect(s).not.toBeNull();
      expect(countdownReward(`<think>…</think>\n<answer>${s}</answer>`, t)).toBe(1);
    }
    expect([...sizes].sort()).toEqual([3, 4]);
    const threes = tasks.filter((t) => t.nums.length === 3).length;
    expect(threes).toBeGreaterThan(420); // the count is drawn once per task: about half are 3s
    expect(threes).toBeLessThan(580);
  });

  it('honours custom ranges and rejects bad options', () => {
    const t = generateCountdownTask(createRng(5), { minCount: 5, maxCount: 5, maxNumber: 10, minTarget: 1, maxTarget: 1000 });
    expect(t.nums).toHaveLength(5);
    expect(t.nums.every((n) => n <= 10)).toBe(true);
    expect(() => generateCountdownTask(createRng(1), { minCount: 4, maxCount: 3 })).toThrow(/minCount/);
    expect(() => generateCountdownTask(createRng(1), { minTarget: 0 })).toThrow(TaskError);
    expect(() => generateCountdownTask(createRng(1), { maxNumber: 1, minTarget: 1000, maxTarget: 2000, maxTries: 50 })).toThrow(/no target in 1000..2000 in 50 tries/);
    expect(COUNTDOWN_3TO4.maxNumber).toBe(99);
  });
});

describe('solveCountdown', () => {
  it('finds solutions, including ones that need fractions, and says null when there is none', () => {
    for (const [nums, target] of [[[44, 19, 35], 98], [[75, 77, 9], 18], [[66, 33, 28, 11], 55], [[1, 5, 5, 5], 24], [[3, 3, 8, 8], 24]] as const) {
      const s = solveCountdown(nums, target);
      expect(s, `${nums} → ${target}`).not.toBeNull();
      expect(countdownReward(`<answer>${s}</answer>`, { nums: [...nums], target })).toBe(1);
    }
    expect(solveCountdown([1, 1, 1], 100)).toBeNull();
    expect(solveCountdown([7], 7)).toBe('7');
    expect(() => solveCountdown([1, 2, 3, 4, 5, 6], 10)).toThrow(/1–5/);
  });
});

describe('TinyZero prompts', () => {
  const task = { nums: [44, 19, 35], target: 98 };
  const instr = 'Using the numbers [44, 19, 35], create an equation that equals 98. You can use basic arithmetic operations (+, -, *, /) and each number can only be used once. Show your work in <think> </think> tags. And return the final answer in <answer> </answer> tags, for example <answer> (1 + 2) / 3 </answer>.';

  it('base template matches make_prefix(template_type="base")', () => {
    expect(countdownPromptBase(task)).toBe(
      'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer.\n' +
      `User: ${instr}\nAssistant: Let me solve this step by step.\n<think>`,
    );
  });

  it('qwen-instruct template matches make_prefix(template_type="qwen-instruct")', () => {
    expect(countdownPromptQwenInstruct(task)).toBe(
      '<|im_start|>system\nYou are a helpful assistant. You first thinks about the reasoning process in the mind and then provides the user with the answer.<|im_end|>\n' +
      `<|im_start|>user\n ${instr}<|im_end|>\n<|im_start|>assistant\nLet me solve this step by step.\n<think>`,
    );
  });

  it('chat messages rendered as ChatML + prefix give the qwen-instruct text', () => {
    const { messages, assistantPrefix } = countdownChat(task);
    const chatml = messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
    expect(chatml + assistantPrefix).toBe(countdownPromptQwenInstruct(task));
  });
});
