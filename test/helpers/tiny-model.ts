// A tiny Qwen2 model folder for end-to-end tests (worker, CLI, browser): random weights from
// tinyCheckpoint (hidden 64, 2 layers, vocab 320) and a tiny test-only tokenizer made here — GPT-2
// byte-level BPE like Qwen's (256 byte tokens, 61 merges, then <|endoftext|> <|im_start|> <|im_end|>
// = ids 317-319), so every id the tokenizer can produce is a row of the 320-row embedding (the real
// Qwen tokenizer's 151k ids would need a 151k-row model, too slow on SwiftShader). ChatML template
// with Qwen2.5's default system prompt; <|im_end|> ends a reply. The LM head is untied and the seed 5:
// with tied random weights greedy decoding just repeats the last token; this one says "�/eauGr".
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tinyCheckpoint, tinyConfigJson, type TinyOptions } from '../model/tiny-checkpoint';

export const TINY_VOCAB = 320;
const DEFAULTS: TinyOptions = { vocab: TINY_VOCAB, tie: false, seed: 5 };
const BIGRAMS = ('th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly').split(' ');
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** GPT-2's bytes_to_unicode: printable stand-ins for the 256 byte values. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (const [a, b] of [[33, 126], [161, 172], [174, 255]]) for (let i = a; i <= b; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => { out[b] = String.fromCharCode(cs[i]); });
  return out;
}

export function tinyTokenizerJson(): Record<string, unknown> {
  const u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[u[b]] = b;
  const merges: [string, string][] = [];
  for (const bg of BIGRAMS.slice(0, TINY_VOCAB - 256 - SPECIALS.length)) {
    merges.push([bg[0], bg[1]]);
    vocab[bg] = 256 + merges.length - 1;
  }
  const added = SPECIALS.map((content, i) => ({ id: 256 + merges.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: { type: 'NFC' },
    pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

export const TINY_CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
  "{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}" +
  "{%- for message in messages %}{%- if message['role'] != 'system' %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

export function tinyTokenizerConfig(): Record<string, unknown> {
  return { eos_token: '<|im_end|>', pad_token: '<|endoftext|>', bos_token: null, model_max_length: 512, chat_template: TINY_CHAT_TEMPLATE };
}

export function tinyModelConfig(o: TinyOptions = {}): Record<string, unknown> {
  return { ...tinyConfigJson({ ...DEFAULTS, ...o }), bos_token_id: 317, eos_token_id: 319 };
}

export interface TinyFolderOptions extends TinyOptions {
  /** write generation_config.json (default true) */
  generationConfig?: boolean;
}

/** Writes config.json, model.safetensors (or shards + index), tokenizer files into `dir`; returns the file names. */
export async function writeTinyModel(dir: string, o: TinyFolderOptions = {}): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const ck = await tinyCheckpoint({ ...DEFAULTS, ...o });
  const files: Record<string, string | Uint8Array> = {
    'config.json': JSON.stringify(tinyModelConfig(o), null, 1),
    'tokenizer.json': JSON.stringify(tinyTokenizerJson()),
    'tokenizer_config.json': JSON.stringify(tinyTokenizerConfig(), null, 1),
  };
  if (o.generationConfig ?? true) files['generation_config.json'] = JSON.stringify({ eos_token_id: [319, 317], temperature: 0.7, top_p: 0.8, top_k: 20 });
  for (const [name, bytes] of ck.files) files[name] = bytes;
  if (o.sharded) {
    const weightMap: Record<string, string> = {};
    for (const s of ck.model.shards) for (const t of s.header.tensors) weightMap[t.name] = s.file;
    files['model.safetensors.index.json'] = JSON.stringify({ metadata: {}, weight_map: weightMap });
  }
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return Object.keys(files);
}
