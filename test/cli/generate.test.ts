// `tabzero generate` on the tiny model of test/helpers/tiny-model.ts (random weights, a tiny byte-level
// BPE tokenizer whose ids all fit its 320-row embedding): the argument parser, generateText (streamed
// text = the decoded completion; greedy is deterministic; a PEFT adapter folder changes the reply),
// and the real CLI once (stdout = the same reply).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateText, parseGenerateArgs, type GenerateOptions } from '../../src/cli/generate';
import { writeSafetensors, type TensorToWrite } from '../../src/formats/safetensors';
import { peftKey } from '../../src/lora/peft';
import { LORA_TARGETS } from '../../src/lora/targets';
import { createTokenizer } from '../../src/model/tokenizer';
import type { GpuContext } from '../../src/gpu/device';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { tinyTokenizerConfig, tinyTokenizerJson, writeTinyModel } from '../helpers/tiny-model';

let tmp: string;
let model: string;
let adapter: string;
let gpu: GpuContext;

/** A PEFT adapter for the tiny model (r 4 on all seven projections) with large random A and B. */
function writeAdapter(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = 4;
  const shapes: Record<string, [number, number]> = { q_proj: [64, 64], k_proj: [32, 64], v_proj: [32, 64], o_proj: [64, 64], gate_proj: [160, 64], up_proj: [160, 64], down_proj: [64, 160] };
  const tensors: TensorToWrite[] = [];
  let seed = 100;
  for (let l = 0; l < 2; l++) {
    for (const t of LORA_TARGETS) {
      const [out, inF] = shapes[t];
      tensors.push({ name: peftKey(l, t, 'A'), dtype: 'F32', shape: [r, inF], data: normal(seed++, r * inF, 0.5) });
      tensors.push({ name: peftKey(l, t, 'B'), dtype: 'F32', shape: [out, r], data: normal(seed++, out * r, 0.5) });
    }
  }
  writeFileSync(join(dir, 'adapter_model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r, lora_alpha: 8, target_modules: [...LORA_TARGETS], lora_dropout: 0, bias: 'none' }));
}

beforeAll(async () => {
  gpu = await testGpu();
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-generate-'));
  model = join(tmp, 'tiny');
  adapter = join(tmp, 'adapter');
  await writeTinyModel(model);
  writeAdapter(adapter);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseGenerateArgs', () => {
  it('reads every option, with Qwen2.5 sampling defaults', () => {
    expect(parseGenerateArgs(['--model', 'm', '--prompt', 'Hi'])).toMatchObject({ model: 'm', prompt: 'Hi', linearFormat: 'q4', sampling: { temperature: 0.7, topP: 0.8, topK: 20, minP: 0, seed: 0, maxNewTokens: 256 } });
    expect(parseGenerateArgs(['--model', 'm', '--prompt', 'Hi', '--adapter', 'a', '--max-tokens', '5', '--temperature', '0', '--top-p', '0.9', '--top-k', '3', '--seed', '7', '--bf16', '--system', 'S']))
      .toMatchObject({ adapter: 'a', system: 'S', linearFormat: 'bf16', sampling: { temperature: 0, topP: 0.9, topK: 3, seed: 7, maxNewTokens: 5 } });
  });

  it('names the bad argument, with the usage as hint', () => {
    expect(() => parseGenerateArgs(['--prompt', 'x'])).toThrow(expect.objectContaining({ name: 'UsageError', message: '--model is required', hint: expect.stringContaining('usage: tabzero generate') }));
    expect(() => parseGenerateArgs(['--model', 'm'])).toThrow('--prompt is required');
    expect(() => parseGenerateArgs(['--model', 'm', '--prompt', 'x', '--max-tokens', '2.5'])).toThrow('--max-tokens must be a non-negative integer, got "2.5"');
    expect(() => parseGenerateArgs(['--model', 'm', '--prompt', 'x', '--temperature', 'hot'])).toThrow('--temperature must be a non-negative number');
    expect(() => parseGenerateArgs(['--model', 'm', '--prompt', 'x', '--top-p', '0'])).toThrow('--top-p must be in (0, 1]');
    expect(parseGenerateArgs(['--model', 'm', '--prompt', 'x', '--disable', 'shader-f16,subgroups']).disable).toEqual(['shader-f16', 'subgroups']);
    expect(() => parseGenerateArgs(['--model', 'm', '--prompt', 'x', '--disable', 'f16'])).toThrow(expect.objectContaining({ name: 'UsageError', message: expect.stringContaining('--disable: unknown feature "f16"') }));
  });
});

describe('generateText (tiny model, greedy)', () => {
  const opts = (o: Partial<GenerateOptions> = {}): GenerateOptions => ({
    model, prompt: 'Hi there', sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0, maxNewTokens: 4 }, linearFormat: 'q4', ...o,
  });
  const tok = createTokenizer(tinyTokenizerJson(), tinyTokenizerConfig());
  let base: Awaited<ReturnType<typeof generateText>>;
  let streamed = '';

  it('streams text that is the decoded completion', async () => {
    base = await generateText(gpu, opts(), (t) => { streamed += t; });
    expect(base.ids.length).toBeGreaterThan(0);
    expect(base.promptTokens).toBe(tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'Hi there' }], { addGenerationPrompt: true }), { addSpecialTokens: false }).length);
    const shown = base.finished ? base.ids.slice(0, -1) : base.ids;
    expect(streamed).toBe(tok.decode(shown, { skipSpecialTokens: true }));
    expect(base.text).toBe(streamed);
  });

  it('a PEFT adapter folder changes the greedy reply; a missing one says what to pass', async () => {
    const withLora = await generateText(gpu, opts({ adapter }), () => {});
    expect(withLora.ids).not.toEqual(base.ids);
    await expect(generateText(gpu, opts({ adapter: join(tmp, 'nope') }), () => {})).rejects.toMatchObject({ name: 'LoraError', hint: expect.stringContaining('adapter_config.json') });
  });

  it('the real CLI prints the same reply', () => {
    const r = spawnSync('npm', ['run', '--silent', 'cli', '--', 'generate', '--model', model, '--prompt', 'Hi there', '--max-tokens', '4', '--temperature', '0'], { encoding: 'utf8', timeout: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${base.text}\n`);
    expect(r.stderr).toMatch(/\[\d+ prompt tokens; \d+ generated in [\d.]+ s/);
  });
});
