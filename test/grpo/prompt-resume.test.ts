// Prompt sources resume exactly: a source recreated from a saved state() (JSON round trip, as in a
// checkpoint) draws the same prompts as one that never stopped — Countdown from its RNG state, a JSONL
// dataset also from its epoch order and position, across epoch boundaries.
import { describe, expect, it } from 'vitest';
import { createPromptSource, type PromptTokenizer, type TaskSpec } from '../../src/grpo/tasks';

const tok: PromptTokenizer = {
  encode: (t) => [...t].map((c) => c.charCodeAt(0) % 256),
  applyChatTemplate: (messages) => messages.map((m) => `${m.role}: ${m.content}`).join('\n'),
};

const jsonl = Array.from({ length: 7 }, (_, i) => JSON.stringify({ question: `q${i}`, answer: String(i) })).join('\n');
const tasks: TaskSpec[] = [
  { kind: 'countdown', seed: 5, minNums: 3, maxNums: 4, template: 'base' },
  { kind: 'dataset', name: 'd.jsonl', jsonl, answerMode: 'auto', seed: 9 },
];

describe('prompt sources resume where they were', () => {
  for (const task of tasks) {
    it(`${task.kind}: drawing 3 × 4, saving, and drawing on equals drawing straight through`, () => {
      const straight = createPromptSource(task, tok);
      const all = Array.from({ length: 6 }, () => straight.next(4).map((p) => p.text));
      const first = createPromptSource(task, tok);
      const head = Array.from({ length: 3 }, () => first.next(4).map((p) => p.text));
      const saved = JSON.parse(JSON.stringify(first.state()));
      const again = createPromptSource(task, tok, saved);
      const tail = Array.from({ length: 3 }, () => again.next(4).map((p) => p.text));
      expect([...head, ...tail]).toEqual(all);
    });
  }

  it('a dataset state without an order (an older checkpoint) still resumes, from a fresh order', () => {
    const src = createPromptSource(tasks[1], tok);
    src.next(3);
    const { algo, s } = src.state();
    expect(createPromptSource(tasks[1], tok, { algo, s }).next(7).map((p) => p.text).sort()).toHaveLength(7);
  });
});
