// One chat reply: the conversation rendered by the model's chat template (with the assistant header),
// generate() with one row, each step's token detokenized as it arrives (never half a UTF-8 character),
// end-of-sequence tokens not shown. Shared by the engine worker (token events) and the CLI (stdout).
import { generate } from '../model/generate';
import { createStreamDecoder, type ChatMessage } from '../model/tokenizer';
import { ModelError } from '../model/errors';
import type { LoraAdapter } from '../lora/adapter';
import type { SamplingSpec } from './protocol';
import type { LoadedModel } from './context';

/** Qwen2.5-Instruct's generation_config.json (temperature 0.7, top-p 0.8, top-k 20); temperature 0 is greedy. */
export const DEFAULT_SAMPLING: Readonly<SamplingSpec> = Object.freeze({ temperature: 0.7, topP: 0.8, topK: 20, minP: 0, seed: 0, maxNewTokens: 256 });

export interface ChatReply {
  text: string;
  /** completion ids, up to and including an end-of-sequence id */
  ids: number[];
  /** the reply ended with an end-of-sequence id (not cut by maxNewTokens or stopped) */
  finished: boolean;
  promptTokens: number;
  seconds: number;
}

export interface ChatHooks {
  onText?(text: string): void;
  /** polled once per decode step: true stops after it */
  shouldStop?(): boolean;
}

/** Prompt ids of a conversation, checked against the engine's sizes (hints say what to shorten). */
export function chatPromptIds(model: LoadedModel, messages: readonly ChatMessage[], maxNewTokens: number): number[] {
  if (!Number.isSafeInteger(maxNewTokens) || maxNewTokens < 1) throw new ModelError(`max tokens must be a positive integer, got ${maxNewTokens}`, 'set max tokens to 1 or more');
  const prompt = model.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
  const ids = model.tokenizer.encode(prompt, { addSpecialTokens: false });
  const { maxTokens, maxPositions } = model.engine.opts;
  if (ids.length > maxTokens) throw new ModelError(`the conversation is ${ids.length} tokens; at most ${maxTokens} fit in one prompt`, 'clear the conversation or shorten the message');
  if (ids.length + maxNewTokens > maxPositions) {
    throw new ModelError(`the conversation (${ids.length} tokens) plus ${maxNewTokens} new tokens exceeds the ${maxPositions} positions of the engine`, `lower max tokens to ${Math.max(1, maxPositions - ids.length)} or clear the conversation`);
  }
  return ids;
}

export async function runChat(model: LoadedModel, messages: readonly ChatMessage[], sampling: SamplingSpec, lora: LoraAdapter | null, hooks: ChatHooks = {}): Promise<ChatReply> {
  const ids = chatPromptIds(model, messages, sampling.maxNewTokens);
  const eos = new Set(model.eosIds);
  const decoder = createStreamDecoder(model.tokenizer, { skipSpecialTokens: true });
  let text = '';
  let ended = false;
  const emit = (t: string) => {
    if (!t) return;
    text += t;
    hooks.onText?.(t);
  };
  const t0 = performance.now();
  const r = await generate(model.engine, {
    prompts: [ids], G: 1, maxNewTokens: sampling.maxNewTokens, eosIds: model.eosIds, lora,
    sampling: { temperature: sampling.temperature, topK: sampling.topK, topP: sampling.topP, minP: sampling.minP, seed: sampling.seed },
    onStep: (_s, tokens) => {
      if (ended) return;
      if (eos.has(tokens[0])) ended = true;
      else emit(decoder.push(tokens[0]));
    },
    shouldStop: hooks.shouldStop,
  });
  emit(decoder.flush());
  return { text, ids: r.completions[0], finished: r.finished[0], promptTokens: ids.length, seconds: (performance.now() - t0) / 1000 };
}
