// Prompt sources for training: the built-in Countdown generator (TinyZero's base or Qwen-instruct
// templates) or an uploaded JSONL of question/answer pairs (R1-style system prompt), rendered with
// the model's chat template and tokenized. The RNG state (for a dataset also the epoch's order and
// position) is saved with checkpoints so a resumed run draws exactly the prompts it would have drawn.
import { createRng, fromState, type Rng, type RngState } from '../tasks/rng';
import { COUNTDOWN_3TO4, countdownChat, countdownPromptBase, generateCountdownTask } from '../tasks/countdown';
import { buildQaMessages, parseQaJsonl, type QaRow } from '../tasks/dataset';
import type { CorrectnessMode } from '../rewards/correctness';
import type { PromptItem } from './trainer';
import type { RewardSample } from './rewards';

/** What to train on. */
export type TaskSpec =
  | { kind: 'countdown'; seed: number; minNums: number; maxNums: number; template: 'base' | 'instruct' }
  | { kind: 'dataset'; name: string; jsonl: string; answerMode: CorrectnessMode; seed: number };

/** The tokenizer features a prompt source needs. */
export interface PromptTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  applyChatTemplate(messages: { role: string; content: string }[], opts: { addGenerationPrompt: boolean }): string;
}

/** A prompt source's position: its RNG state, plus for a dataset the current epoch's order and place in it. */
export type PromptState = RngState & { order?: number[]; at?: number };

export interface PromptSource {
  next(n: number): PromptItem<RewardSample>[];
  state(): PromptState;
}

export function createPromptSource(spec: TaskSpec, tok: PromptTokenizer, rngState?: PromptState): PromptSource {
  const rng: Rng = rngState ? fromState(rngState) : createRng(spec.seed);
  const item = (text: string, sample: RewardSample): PromptItem<RewardSample> => ({ text, ids: tok.encode(text, { addSpecialTokens: false }), sample });
  if (spec.kind === 'countdown') {
    if (spec.minNums < 2 || spec.maxNums < spec.minNums || spec.maxNums > 6) throw new Error(`Countdown needs 2 ≤ minNums ≤ maxNums ≤ 6; got ${spec.minNums}…${spec.maxNums}`);
    return {
      next: (n) => Array.from({ length: n }, () => {
        const t = generateCountdownTask(rng, { ...COUNTDOWN_3TO4, minCount: spec.minNums, maxCount: spec.maxNums });
        const sample: RewardSample = { kind: 'countdown', nums: t.nums, target: t.target };
        if (spec.template === 'base') return item(countdownPromptBase(t), sample);
        const chat = countdownChat(t);
        return item(tok.applyChatTemplate(chat.messages, { addGenerationPrompt: true }) + chat.assistantPrefix, sample);
      }),
      state: () => rng.state(),
    };
  }
  const rows: QaRow[] = parseQaJsonl(spec.jsonl);
  // a saved position resumes the same epoch order at the same place (a checkpoint from before this
  // field existed, or of another file, starts a fresh order from its RNG state)
  const saved = rngState?.order;
  const resumes = !!saved && saved.length === rows.length && Number.isInteger(rngState?.at);
  let order = resumes ? [...saved] : rng.shuffle(rows.map((_, i) => i));
  let at = resumes ? (rngState!.at as number) : 0;
  return {
    next: (n) => Array.from({ length: n }, () => {
      if (at >= order.length) { order = rng.shuffle(order); at = 0; }
      const row = rows[order[at++]];
      const text = tok.applyChatTemplate(buildQaMessages(row), { addGenerationPrompt: true });
      const question = typeof row.prompt === 'string' ? row.prompt : row.prompt.map((m) => m.content).join('\n');
      return item(text, { kind: 'qa', question, answer: row.answer, mode: spec.answerMode });
    }),
    state: () => ({ ...rng.state(), order: [...order], at }),
  };
}
