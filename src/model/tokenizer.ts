// The model's own tokenizer (tokenizer.json + tokenizer_config.json, through @huggingface/tokenizers)
// and chat template (through @huggingface/jinja), behind a small typed API; plus a streaming
// detokenizer for generation that never emits half of a multi-byte UTF-8 character.
// Inputs are parsed JSON or strings, so hub downloads, local folders and Node files all work.

import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface SpecialToken {
  id: number;
  content: string;
}

export interface ChatTemplateOptions {
  /** end with the assistant header so the model continues as the assistant (TRL does for prompts) */
  addGenerationPrompt?: boolean;
  /** extra template variables, e.g. { enable_thinking: false } or { tools: [...] } */
  variables?: Record<string, unknown>;
}

export interface TabTokenizer {
  /** token ids; addSpecialTokens (default true, as in transformers) runs the post-processor */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** text of ids; [] gives '' */
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** the conversation rendered by the model's chat template (a string, not ids) */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions): string;
  /** id of a vocabulary entry as stored (byte-level form, e.g. "Ġworld"; added tokens as written), undefined if unknown */
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** ids that end a completion: eos_token plus extraEosTokenIds, deduplicated */
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | null;
  readonly bosTokenId: number | null;
  /** highest id + 1 over vocabulary and added tokens (the model's vocab_size may be larger) */
  readonly vocabSize: number;
  /** added tokens marked special (skipped by decode with skipSpecialTokens) */
  readonly specialTokens: readonly SpecialToken[];
}

export interface CreateTokenizerOptions {
  /** a template from chat_template.jinja / chat_template.json; overrides tokenizer_config's */
  chatTemplate?: string;
  /** more end-of-sequence ids, e.g. config.json / generation_config.json eos_token_id */
  extraEosTokenIds?: readonly number[];
}

const HINT_FILES = 'use the tokenizer.json and tokenizer_config.json of the same model repo; download them again';

function parseJsonObject(x: unknown, file: string): Record<string, unknown> {
  let v = x;
  if (typeof x === 'string') {
    try {
      v = JSON.parse(x);
    } catch (e) {
      throw new TokenizerError(`${file} is not valid JSON (${x.length} characters): ${(e as Error).message}`, HINT_FILES);
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TokenizerError(`${file} must be a JSON object, got ${Array.isArray(v) ? 'an array' : typeof v}`, HINT_FILES);
  }
  return v as Record<string, unknown>;
}

/** A special-token entry of tokenizer_config.json: a string, or an AddedToken object {content}. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

/** tokenizer_config.chat_template: a string, or a list of {name, template} (pick "default"). */
function pickTemplate(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.filter((t): t is { name: string; template: string } =>
      typeof t === 'object' && t !== null && typeof t.template === 'string');
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/** Builds the tokenizer; throws TokenizerError when the files are malformed. */
export function createTokenizer(
  tokenizerJson: unknown,
  tokenizerConfigJson: unknown,
  opts: CreateTokenizerOptions = {},
): TabTokenizer {
  const tj = parseJsonObject(tokenizerJson, 'tokenizer.json');
  const tc = parseJsonObject(tokenizerConfigJson, 'tokenizer_config.json');
  if (typeof tj.model !== 'object' || tj.model === null) {
    throw new TokenizerError('tokenizer.json has no "model" section; it is not a Hugging Face tokenizers file', HINT_FILES);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tj, tc);
  } catch (e) {
    throw new TokenizerError(`could not build the tokenizer from tokenizer.json: ${(e as Error).message}`, HINT_FILES);
  }
  const idOf = (field: string): number | null => {
    const content = tokenContent(tc[field]);
    if (content === null) return null;
    const id = tok.token_to_id(content);
    if (id === undefined) {
      throw new TokenizerError(`tokenizer_config.json ${field} "${content}" is not a token of tokenizer.json`, HINT_FILES);
    }
    return id;
  };
  const eos = idOf('eos_token');
  const eosTokenIds = [...new Set([...(eos === null ? [] : [eos]), ...(opts.extraEosTokenIds ?? [])])];
  let maxId = -1;
  for (const id of tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
  const specialTokens = [...tok.get_added_tokens_decoder().values()]
    .filter((t) => t.special)
    .map((t) => ({ id: t.id, content: t.content }))
    .sort((a, b) => a.id - b.id);
  const template = opts.chatTemplate ?? pickTemplate(tc.chat_template);
  const render = makeChatRenderer(template, tc);

  return {
    encode: (text, o = {}) => tok.encode(text, { add_special_tokens: o.addSpecialTokens ?? true }).ids,
    decode: (ids, o = {}) => (ids.length === 0 ? '' : tok.decode([...ids], { skip_special_tokens: o.skipSpecialTokens ?? false })),
    applyChatTemplate: render,
    tokenToId: (t) => tok.token_to_id(t),
    idToToken: (id) => tok.id_to_token(id),
    eosTokenIds,
    padTokenId: idOf('pad_token'),
    bosTokenId: idOf('bos_token'),
    vocabSize: maxId + 1,
    specialTokens,
  };
}

/** The chat-template renderer; the template is parsed once, lazily errors when there is none. */
function makeChatRenderer(
  template: string | null,
  tc: Record<string, unknown>,
): (messages: readonly ChatMessage[], opts?: ChatTemplateOptions) => string {
  // transformers passes the special tokens of tokenizer_config to the template as strings
  const specials: Record<string, string> = {};
  for (const k of ['bos_token', 'eos_token', 'pad_token', 'unk_token', 'sep_token', 'cls_token', 'mask_token']) {
    const c = tokenContent(tc[k]);
    if (c !== null) specials[k] = c;
  }
  let parsed: Template | null = null;
  return (messages, opts = {}) => {
    if (template === null) {
      throw new TokenizerError(
        'tokenizer_config.json has no chat_template',
        'pick an instruct/chat model (e.g. Qwen/Qwen2.5-1.5B-Instruct) or pass the chat_template.jinja file as chatTemplate',
      );
    }
    try {
      parsed ??= new Template(template);
    } catch (e) {
      throw new TokenizerError(`the chat template (${template.length} characters) does not parse: ${(e as Error).message}`, HINT_FILES);
    }
    try {
      return parsed.render({
        ...specials,
        ...opts.variables,
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      });
    } catch (e) {
      throw new TokenizerError(
        `rendering the chat template for ${messages.length} messages failed: ${(e as Error).message}`,
        'check the message roles and order the template expects (e.g. system first, user/assistant alternating)',
      );
    }
  };
}

export interface StreamDecoder {
  /** adds one generated id; returns the text it completes ('' while a character is still partial) */
  push(id: number): string;
  /** the text still held back (a truncated character comes out as U+FFFD), then resets */
  flush(): string;
}

/**
 * Incremental detokenizer (the prefix/read-offset scheme of text-generation-inference): decodes a
 * small window of recent ids and emits only the new suffix, holding back while the text ends in
 * U+FFFD (a UTF-8 character split across tokens). After 4 held tokens it emits anyway, since no
 * character spans more than 4 bytes: the bytes are then truly invalid, as a full decode shows them.
 */
export function createStreamDecoder(tok: Pick<TabTokenizer, 'decode'>, opts: { skipSpecialTokens?: boolean } = {}): StreamDecoder {
  const decode = (ids: number[]): string => tok.decode(ids, { skipSpecialTokens: opts.skipSpecialTokens ?? false });
  // ids[0..read) are emitted; ids before `read` are kept only as context for the next decode
  let ids: number[] = [];
  let read = 0;
  const step = (force: boolean): string => {
    const after = decode(ids);
    if (!force && after.endsWith('\uFFFD') && ids.length - read < 4) return '';
    const before = decode(ids.slice(0, read));
    const delta = after.startsWith(before) ? after.slice(before.length) : after.slice(Math.min(before.length, after.length));
    ids = ids.slice(read); // the ids just emitted become the context of the next window
    read = ids.length;
    return delta;
  };
  return {
    push(id) {
      ids.push(id);
      return step(false);
    },
    flush() {
      const rest = read < ids.length ? step(true) : '';
      ids = [];
      read = 0;
      return rest;
    },
  };
}
