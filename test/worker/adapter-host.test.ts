// The worker's adapter commands on a Node device with the tiny fixture model: import (fixture files)
// → adapter-active; export → adapter-exported with the same bytes; a wrong-shape adapter and a
// missing model fail with hints; load-stored-adapter from IndexedDB (fake-indexeddb as the global
// one, as in a browser worker); clear; adapters are not swapped while training runs.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GpuContext } from '../../src/gpu/device';
import { Engine } from '../../src/model/engine';
import { destroyModel, type ModelWeights } from '../../src/model/weights';
import { readSafetensors } from '../../src/formats/safetensors';
import { saveAdapterToStore, loraBaseOf } from '../../src/lora/store-glue';
import { openStorage } from '../../src/storage/store';
import { createWorkerContext, type LoadedModel, type WorkerContext } from '../../src/worker/context';
import { clearAdapter, exportAdapter, importAdapter, loadStoredAdapter } from '../../src/worker/adapter-host';
import type { Event } from '../../src/worker/protocol';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { loadFixtureModel } from '../helpers/model';
import { testGpu } from '../helpers/gpu';
import { fakeAdapter, TINY_BASE } from '../lora/peft-files';

const DIR = join(FIXTURES_DIR, 'reference-tiny');
let gpu: GpuContext;
let weights: ModelWeights;
let model: LoadedModel;
let ctx: WorkerContext;
const events: { ev: Event; transfer?: Transferable[] }[] = [];
const last = () => events[events.length - 1];

const configObj = () => JSON.parse(readFileSync(join(DIR, 'adapter', 'adapter_config.json'), 'utf8')) as unknown;
const weightsBuf = () => { const b = readFileSync(join(DIR, 'adapter', 'adapter_model.safetensors')); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; };

beforeAll(async () => {
  gpu = await testGpu();
  weights = (await loadFixtureModel(gpu, DIR, 'bf16')).weights;
  const engine = await Engine.create(gpu, weights, { maxTokens: 16, maxPositions: 32, maxRank: 16 });
  model = { name: 'tiny-qwen2', config: weights.config, weights, engine, tokenizer: {} as LoadedModel['tokenizer'], eosIds: [], summary: {} as LoadedModel['summary'] };
  ctx = createWorkerContext((ev, transfer) => events.push({ ev, transfer }), async () => gpu);
  await ctx.device();
});
afterAll(() => {
  model?.engine.destroy();
  if (weights) destroyModel(gpu, weights);
});

describe('adapter-host', () => {
  it('refuses without a model, with a hint', async () => {
    await expect(importAdapter({ type: 'import-adapter', id: 1, config: configObj(), safetensors: weightsBuf(), name: 'x' }, ctx)).rejects.toMatchObject({ message: expect.stringMatching(/no model is loaded/), hint: expect.stringMatching(/load the base model/) });
    await expect(exportAdapter({ type: 'export-adapter', id: 2 }, ctx)).rejects.toThrow(/no model is loaded/);
  });

  it('import → adapter-active; export → adapter-exported with the same tensors, buffer transferred', async () => {
    ctx.model = model;
    await importAdapter({ type: 'import-adapter', id: 3, config: configObj(), safetensors: weightsBuf(), name: 'fixture' }, ctx);
    expect(last().ev).toEqual({ type: 'adapter-active', id: 3, name: 'fixture', r: 4, alpha: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    expect(ctx.loraName).toBe('fixture');
    await exportAdapter({ type: 'export-adapter', id: 4 }, ctx);
    const { ev, transfer } = last();
    if (ev.type !== 'adapter-exported') throw new Error(`got ${ev.type}`);
    expect(transfer).toEqual([ev.safetensors]);
    expect(ev.warnings).toEqual([]);
    expect(ev.config).toMatchObject({ r: 4, lora_alpha: 8, base_model_name_or_path: 'tiny-qwen2' });
    const orig = readSafetensors(new Uint8Array(weightsBuf())).tensors;
    const got = readSafetensors(new Uint8Array(ev.safetensors)).tensors;
    expect([...got.keys()].sort()).toEqual([...orig.keys()].sort());
    for (const [k, t] of orig) expect(Buffer.from(got.get(k)!.bytes).equals(Buffer.from(t.bytes)), k).toBe(true);
  });

  it('an adapter for another base shape is refused and the active one stays', async () => {
    const other = fakeAdapter({ base: { ...TINY_BASE, intermediateSize: 96 } });
    const before = ctx.lora;
    await expect(importAdapter({ type: 'import-adapter', id: 5, config: other.config, safetensors: other.safetensors.slice().buffer, name: 'other' }, ctx))
      .rejects.toMatchObject({ name: 'LoraError', message: expect.stringMatching(/gate_proj is \[out 96, in 64\], the loaded model's is \[out 160, in 64\]/), hint: expect.stringMatching(/trained on tiny-qwen2/) });
    expect(ctx.lora).toBe(before);
    const big = fakeAdapter({ r: 32, targets: ['q_proj'] });
    await expect(importAdapter({ type: 'import-adapter', id: 6, config: big.configText, safetensors: big.safetensors.slice().buffer, name: 'big' }, ctx)).rejects.toThrow(/r = 32, the loaded engine supports up to 16/);
  });

  it('load-stored-adapter reads IndexedDB and makes it active; clear removes it', async () => {
    const storage = await openStorage({ locks: null });
    expect(weights.fingerprint).toMatch(/^w1-[0-9a-f]{16}$/);
    const meta = await saveAdapterToStore(gpu, storage, ctx.lora!, { name: 'stored one', base: { modelId: 'tiny-qwen2', weightsHash: weights.fingerprint, shape: loraBaseOf(weights.config) }, step: 5 });
    await loadStoredAdapter({ type: 'load-stored-adapter', id: 7, adapterId: meta.id }, ctx);
    expect(last().ev).toMatchObject({ type: 'adapter-active', id: 7, name: 'stored one', r: 4 });
    expect(last().ev).not.toHaveProperty('warnings');
    // trained on other weights of the same shape: it loads, with a warning naming both fingerprints
    const other = await saveAdapterToStore(gpu, storage, ctx.lora!, { name: 'other base', base: { modelId: 'tiny-qwen2-nf4', weightsHash: 'w1-0123456789abcdef', shape: loraBaseOf(weights.config) }, step: 5 });
    await loadStoredAdapter({ type: 'load-stored-adapter', id: 12, adapterId: other.id }, ctx);
    expect(last().ev).toMatchObject({ type: 'adapter-active', id: 12, name: 'other base', warnings: [expect.stringMatching(/trained on tiny-qwen2-nf4 \(weights w1-0123456789abcdef\), the loaded model is tiny-qwen2 \(weights w1-/)] });
    await expect(loadStoredAdapter({ type: 'load-stored-adapter', id: 8, adapterId: 'nope' }, ctx)).rejects.toMatchObject({ name: 'StorageNotFoundError' });
    ctx.job = { kind: 'training', id: 99 };
    await expect(clearAdapter({ type: 'clear-adapter', id: 9 }, ctx)).rejects.toThrow(/while training runs/);
    ctx.job = null;
    await clearAdapter({ type: 'clear-adapter', id: 10 }, ctx);
    expect(last().ev).toEqual({ type: 'adapter-active', id: 10, name: null, r: 0, alpha: 0, targets: [] });
    expect(ctx.lora).toBeNull();
    await expect(exportAdapter({ type: 'export-adapter', id: 11 }, ctx)).rejects.toThrow(/no adapter is active/);
  });
});
