// PEFT files ⇄ bytes (no GPU): zip round trip with model card, reading a zip (root or one folder)
// or the two files, and a clear rejection for each kind of incompatible or damaged adapter.
import { describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { SafetensorsError, writeSafetensors } from '../../src/formats/safetensors';
import { buildPeftZip, modelCard, peftFilesFromTensors, readPeftFiles, readPeftUpload, readPeftZip } from '../../src/lora/files';
import { checkLayoutAgainstBase, peftWarnings } from '../../src/lora/check';
import { LoraError, peftKey } from '../../src/lora/peft';
import { TINY_BASE, fakeAdapter } from './peft-files';

const enc = (s: string) => strToU8(s);
const reject = (fn: () => unknown, re: RegExp) => {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(Error);
  expect((err as Error).message).toMatch(re);
  expect(typeof (err as { hint?: unknown }).hint).toBe('string');
  expect(((err as { hint: string }).hint).length).toBeGreaterThan(5);
  return err as Error & { hint: string };
};

describe('zip round trip', () => {
  it('buildPeftZip → readPeftZip gives the same config and bit-identical tensors, plus a model card', () => {
    const a = fakeAdapter({ r: 4, alpha: 8 });
    const readme = modelCard({ r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], baseModel: 'Qwen/Qwen2.5-1.5B-Instruct' }, { name: 'countdown', step: 120, metricSummary: { reward: 0.625 } });
    const zip = buildPeftZip({ config: a.config, safetensors: a.safetensors, readme }, { mtime: new Date('2026-01-01') });
    const b = readPeftZip(zip);
    expect(b.config).toEqual(a.config);
    expect(b.settings).toMatchObject({ r: 4, alpha: 8, baseModel: 'tiny-qwen2' });
    expect(Buffer.from(b.safetensors).equals(Buffer.from(a.safetensors))).toBe(true);
    expect(b.layout).toMatchObject({ numLayers: 2, tensorCount: 28 });
    expect(b.layout.shapes.gate_proj).toEqual({ out: 160, in: 64 });
    expect(b.warnings).toEqual([]);
    expect(readme).toMatch(/^---\nbase_model: Qwen\/Qwen2.5-1.5B-Instruct\nlibrary_name: peft/);
    expect(readme).toContain('TabZero');
    expect(readme).toContain('- r: 4');
    expect(readme).toContain('- lora_alpha: 8');
    expect(readme).toContain('- target modules: q_proj, v_proj');
    expect(readme).toContain('- training steps: 120');
    // deterministic bytes for a fixed mtime
    expect(Buffer.from(buildPeftZip({ config: a.config, safetensors: a.safetensors, readme }, { mtime: new Date('2026-01-01') })).equals(Buffer.from(zip))).toBe(true);
  });

  it('peftFilesFromTensors writes F32 tensors sorted with {"format":"pt"} and a PEFT config', () => {
    const t = new Map([[peftKey(0, 'q_proj', 'B'), { data: new Float32Array(64 * 2), shape: [64, 2] }], [peftKey(0, 'q_proj', 'A'), { data: new Float32Array(2 * 64).fill(0.5), shape: [2, 64] }]]);
    const f = peftFilesFromTensors({ r: 2, alpha: 4, targets: ['q_proj'] }, 'x/y', t);
    expect(f.config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, target_modules: ['q_proj'], bias: 'none', base_model_name_or_path: 'x/y' });
    const b = readPeftFiles(JSON.stringify(f.config), f.safetensors);
    expect([...b.tensors.keys()]).toEqual([peftKey(0, 'q_proj', 'A'), peftKey(0, 'q_proj', 'B')]);
    expect(b.layout.numLayers).toBe(1);
  });

  it('reads an adapter inside one folder of the zip and ignores __MACOSX and README', () => {
    const a = fakeAdapter();
    const zip = zipSync({ 'my-adapter/adapter_config.json': enc(a.configText), 'my-adapter/adapter_model.safetensors': a.safetensors, 'my-adapter/README.md': enc('hi'), '__MACOSX/my-adapter/._adapter_config.json': enc('junk') });
    expect(readPeftZip(zip).layout.tensorCount).toBe(28);
  });

  it('reads the two files, in any order, and tolerates renamed downloads', () => {
    const a = fakeAdapter();
    expect(readPeftUpload([{ name: 'adapter_model.safetensors', bytes: a.safetensors }, { name: 'adapter_config.json', bytes: enc(a.configText) }]).settings.r).toBe(4);
    expect(readPeftUpload([{ name: 'adapter_config (1).json', bytes: enc(a.configText) }, { name: 'adapter_model (1).safetensors', bytes: a.safetensors }, { name: 'README.md', bytes: enc('x') }]).settings.r).toBe(4);
    const zip = buildPeftZip({ config: a.config, safetensors: a.safetensors });
    expect(readPeftUpload([{ name: 'download', bytes: zip }]).settings.r).toBe(4);
  });

  it('reads BF16 and F16 adapters (as PEFT saves them for bf16 models)', () => {
    expect(readPeftFiles(fakeAdapter({ dtype: 'BF16' }).configText, fakeAdapter({ dtype: 'BF16' }).safetensors).layout.tensorCount).toBe(28);
    expect(readPeftFiles(fakeAdapter({ dtype: 'F16' }).configText, fakeAdapter({ dtype: 'F16' }).safetensors).layout.tensorCount).toBe(28);
  });
});

describe('missing or damaged files', () => {
  const a = fakeAdapter();
  it('a zip without the weights, or without anything useful', () => {
    reject(() => readPeftZip(zipSync({ 'adapter_config.json': enc(a.configText) })), /zip has no adapter_model\.safetensors/);
    const e = reject(() => readPeftZip(zipSync({ 'x/adapter_config.json': enc(a.configText), 'x/adapter_model.bin': enc('pickle') })), /zip has no adapter_model\.safetensors/);
    expect(e.hint).toMatch(/safe_serialization=True/);
    reject(() => readPeftZip(zipSync({ 'a.txt': enc('x') })), /zip has no adapter_config\.json and adapter_model\.safetensors \(it holds a\.txt\)/);
  });

  it('a zip with two adapters side by side', () => {
    reject(() => readPeftZip(zipSync({ 'a/adapter_config.json': enc(a.configText), 'a/adapter_model.safetensors': a.safetensors, 'b/adapter_config.json': enc(a.configText), 'b/adapter_model.safetensors': a.safetensors })), /zip holds 2 adapters \(a\/, b\/\)/);
  });

  it('a corrupt zip (truncated download) is a LoraError', () => {
    const zip = buildPeftZip({ config: a.config, safetensors: a.safetensors });
    const e = reject(() => readPeftZip(zip.subarray(0, zip.length - 40), 'x.zip'), /x\.zip is not a readable zip archive/);
    expect(e).toBeInstanceOf(LoraError);
    reject(() => readPeftUpload([{ name: 'y.zip', bytes: new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3]) }]), /y\.zip is not a readable zip archive/);
  });

  it('upload of one file only, or of pickles', () => {
    reject(() => readPeftUpload([{ name: 'adapter_config.json', bytes: enc(a.configText) }]), /no adapter_model\.safetensors among adapter_config\.json/);
    reject(() => readPeftUpload([{ name: 'adapter_config.json', bytes: enc(a.configText) }, { name: 'adapter_model.bin', bytes: enc('x') }]), /adapter_model\.bin/);
  });

  it('adapter_config.json that is not JSON', () => {
    const e = reject(() => readPeftFiles('{"r": 4,', a.safetensors), /adapter_config\.json is not valid JSON/);
    expect(e).toBeInstanceOf(LoraError);
  });

  it('safetensors errors keep their named code and say which file', () => {
    for (const [bytes, code] of [[a.safetensors.subarray(0, a.safetensors.length - 8), 'truncated'], [a.safetensors.subarray(0, 4), 'too_small'], [new Uint8Array([...a.safetensors, 0]), 'trailing_bytes']] as const) {
      let err: unknown;
      try { readPeftFiles(a.configText, bytes); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as SafetensorsError).code).toBe(code);
      expect((err as Error).message).toMatch(new RegExp(`^adapter_model\\.safetensors \\(${code}\\): `));
    }
  });
});

describe('incompatible adapters are rejected with a reason', () => {
  const read = (o: Parameters<typeof fakeAdapter>[0]) => { const f = fakeAdapter(o); return readPeftFiles(f.configText, f.safetensors); };

  it('DoRA: by config, and by its magnitude tensors', () => {
    reject(() => read({ config: { use_dora: true } }), /unsupported adapter: DoRA/);
    reject(() => read({ extra: [['base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector', [64]]] }), /DoRA magnitude tensor/);
  });

  it('bias other than none: by config, and by LoRA bias tensors', () => {
    reject(() => read({ config: { bias: 'all' } }), /bias is "all", TabZero supports bias "none"/);
    reject(() => read({ config: { bias: 'lora_only' } }), /bias is "lora_only"/);
    reject(() => read({ extra: [['base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias', [64]]] }), /LoRA bias tensor/);
  });

  it('lm_head or embedding targets', () => {
    reject(() => read({ config: { target_modules: ['q_proj', 'lm_head'] } }), /target module\(s\) lm_head/);
    reject(() => read({ config: { target_modules: ['embed_tokens', 'v_proj'] } }), /target module\(s\) embed_tokens/);
    reject(() => read({ extra: [['base_model.model.model.embed_tokens.lora_embedding_A', [4, 1024]]] }), /embedding tensor/);
    reject(() => read({ extra: [['base_model.model.lm_head.lora_A.weight', [4, 64]]] }), /lm_head tensor/);
  });

  it('modules_to_save: by config, and by full module tensors in the file', () => {
    reject(() => read({ config: { modules_to_save: ['lm_head'] } }), /modules_to_save \["lm_head"\]/);
    reject(() => read({ extra: [['base_model.model.model.norm.weight', [64]]] }), /not a LoRA matrix.*modules_to_save/);
  });

  it('unknown modules: in target_modules, and as tensors of a module TabZero does not adapt', () => {
    reject(() => read({ config: { target_modules: ['q_proj', 'fc1'] } }), /target module\(s\) fc1/);
    reject(() => read({ config: { target_modules: 'all-linear-ish' } }), /target_modules "all-linear-ish"/);
    reject(() => read({ extra: [['base_model.model.model.layers.0.mlp.fc1.lora_A.weight', [4, 64]]] }), /adapts module mlp\.fc1/);
    reject(() => read({ targets: ['q_proj'], extra: [[peftKey(0, 'v_proj', 'A'), [4, 64]]] }), /lists only q_proj/);
  });

  it('other adapter types, task types, per-module ranks, partial layers, rsLoRA', () => {
    reject(() => read({ config: { peft_type: 'IA3' } }), /peft_type is "IA3"/);
    reject(() => read({ config: { task_type: 'SEQ_CLS' } }), /task_type is "SEQ_CLS"/);
    reject(() => read({ config: { rank_pattern: { q_proj: 8 } } }), /per-module rank_pattern/);
    reject(() => read({ config: { layers_to_transform: [0] } }), /layers_to_transform/);
    reject(() => read({ config: { use_rslora: true } }), /rsLoRA/);
  });

  it('weights that disagree with the config: rank, a missing layer, a non-float dtype', () => {
    reject(() => read({ config: { r: 8 } }), /has shape \[4,64\] but adapter_config\.json says r = 8/);
    reject(() => read({ omit: [peftKey(1, 'o_proj', 'B')] }), /no tensor for layer 1 o_proj lora_B/);
    const ints = writeSafetensors([{ name: peftKey(0, 'q_proj', 'A'), dtype: 'I32', shape: [4, 64], data: new Int32Array(256) }]);
    reject(() => readPeftFiles(JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] }), ints), /dtype I32; LoRA matrices must be floating point/);
  });

  it('another base shape: a tensor shape mismatch against the loaded model', () => {
    const other = { ...TINY_BASE, hiddenSize: 96, qDim: 96, kvDim: 48 };
    const b = read({ base: other });
    const e = reject(() => checkLayoutAgainstBase(b.layout, TINY_BASE, b.settings.baseModel), /adapter's q_proj is \[out 96, in 96\], the loaded model's is \[out 64, in 64\]/);
    expect(e.hint).toMatch(/trained on tiny-qwen2/);
    const deeper = read({ base: { ...TINY_BASE, numLayers: 3 } });
    reject(() => checkLayoutAgainstBase(deeper.layout, TINY_BASE), /adapter is for a model with 3 layers, the loaded model has 2/);
    expect(() => checkLayoutAgainstBase(read({}).layout, TINY_BASE)).not.toThrow();
  });
});

describe('warnings', () => {
  it('r > 16: vLLM needs --max-lora-rank (the next rank vLLM accepts)', () => {
    expect(peftWarnings({ r: 16, baseModel: 'x' })).toEqual([]);
    expect(peftWarnings({ r: 32, baseModel: 'x' })).toEqual(["r = 32: vLLM's default max_lora_rank is 16; pass --max-lora-rank 32"]);
    expect(peftWarnings({ r: 24, baseModel: 'x' })[0]).toMatch(/--max-lora-rank 32$/);
    expect(peftWarnings({ r: 600, baseModel: 'x' })[0]).toMatch(/at most 512; merge the adapter/);
    const b = readPeftFiles(fakeAdapter({ r: 20, targets: ['q_proj'] }).configText, fakeAdapter({ r: 20, targets: ['q_proj'] }).safetensors);
    expect(b.warnings).toEqual(["r = 20: vLLM's default max_lora_rank is 16; pass --max-lora-rank 32"]);
    expect(modelCard(b.settings)).toContain('--max-lora-rank 32');
  });

  it('no base_model_name_or_path', () => {
    const f = fakeAdapter({ config: { base_model_name_or_path: null } });
    expect(readPeftFiles(f.configText, f.safetensors).warnings[0]).toMatch(/names no base_model_name_or_path/);
  });
});
