// Adapter round trips on the tiny fixture model (bf16 weights, SwiftShader): the fixture adapter read
// from its files reproduces HF+PEFT's logits_lora; export → import is bit-identical; an adapter
// "trained by TabZero" (random B written on the GPU) gives identical logits after zip export/import
// and after a save to / load from storage (fake-indexeddb); a stored adapter for another base is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDBFactory } from 'fake-indexeddb';
import { Recorder } from '../../src/gpu/encoder';
import { readF32 } from '../../src/gpu/buffers';
import type { GpuContext } from '../../src/gpu/device';
import { Engine } from '../../src/model/engine';
import { createKvCache, destroyKvCache } from '../../src/model/kv-cache';
import { destroyModel, type ModelWeights } from '../../src/model/weights';
import { RandomFillKernel } from '../../src/kernels/random_fill';
import { createLora, destroyLora, targetRows, type LoraAdapter } from '../../src/lora/adapter';
import { exportPeft, importPeft, LoraError } from '../../src/lora/peft';
import { checkLayoutAgainstBase } from '../../src/lora/check';
import { buildPeftZip, modelCard, readPeftFiles, readPeftZip } from '../../src/lora/files';
import { loadAdapterFromStore, loraBaseOf, saveAdapterToStore, type BaseModelRef } from '../../src/lora/store-glue';
import { openStorage, type Storage } from '../../src/storage/store';
import { loadReferenceFixture, type ReferenceFixture } from '../helpers/fixtures';
import { loadFixtureModel } from '../helpers/model';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';

let ctx: GpuContext;
let f: ReferenceFixture;
let weights: ModelWeights;
let engine: Engine;
let base: BaseModelRef;
const live: LoraAdapter[] = [];
const track = (a: LoraAdapter) => { live.push(a); return a; };

beforeAll(async () => {
  ctx = await testGpu();
  f = loadReferenceFixture('reference-tiny');
  weights = (await loadFixtureModel(ctx, f.dir, 'bf16')).weights;
  const [G, T] = f.tensors.get('input_ids')!.shape;
  engine = await Engine.create(ctx, weights, { maxTokens: G * T, maxPositions: T + 16, maxRank: 8 });
  base = { modelId: 'tiny-qwen2', weightsHash: 'test:tiny-1', shape: loraBaseOf(weights.config) };
});
afterAll(() => {
  for (const a of live) destroyLora(ctx, a);
  engine?.destroy();
  if (weights) destroyModel(ctx, weights);
});

/** logits [G·T, V] of the fixture's input_ids (the pattern of test/reference/forward.test.ts) */
async function logits(lora: LoraAdapter | null): Promise<Float32Array> {
  const ids = f.tensors.get('input_ids')!;
  const [G, T] = ids.shape;
  const cache = createKvCache(ctx, engine.weights.config, G, T);
  const m = ctx.memory;
  const io = {
    ids: m.upload('ids', Int32Array.from(ids.data)),
    slot: m.upload('slot', Int32Array.from({ length: G * T }, (_, i) => Math.floor(i / T))),
    pos: m.upload('pos', Int32Array.from({ length: G * T }, (_, i) => i % T)),
  };
  const out = m.create('logits', G * T * engine.V * 4);
  const rec = new Recorder(ctx, 'roundtrip');
  engine.encodeForward(rec, G * T, io, cache, lora);
  engine.encodeLogits(rec, out, G * T);
  rec.submit();
  const r = await readF32(ctx.device, out);
  [io.ids, io.slot, io.pos, out].forEach((b) => m.destroy(b));
  destroyKvCache(ctx, cache);
  return r;
}

const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const bytesOf = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function fixtureFiles(): { config: Uint8Array; weights: Uint8Array } {
  const dir = join(f.dir, 'adapter');
  return { config: new Uint8Array(readFileSync(join(dir, 'adapter_config.json'))), weights: new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors'))) };
}

/** A stand-in for a trained adapter: createLora, then B of every target ← bf16-normal values on the GPU. */
async function trainedByTabZero(): Promise<LoraAdapter> {
  const a = track(createLora(ctx, base.shape, { r: 8, alpha: 16, targets: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'], seed: 11 }));
  const fill = await RandomFillKernel.create(ctx);
  const rec = new Recorder(ctx, 'perturb');
  let seed = 1;
  for (const layer of a.layers) {
    for (const t of a.targets) {
      const tr = targetRows(a.base, t);
      // f32 words whose high half is a bf16 N(0, 0.05²) sample: finite values of that size
      fill.encode(rec, layer[tr.fused].B, tr.row0 * a.r, tr.out * a.r, { kind: 'bf16-normal', std: 0.05 }, seed++);
    }
  }
  rec.submit();
  return a;
}

describe('adapter round trips on the tiny fixture model', () => {
  it('the fixture adapter, read from its files, yields logits_lora within 1e-4 at real positions', async () => {
    const files = fixtureFiles();
    const b = readPeftFiles(files.config, files.weights);
    checkLayoutAgainstBase(b.layout, base.shape, b.settings.baseModel);
    const lora = track(importPeft(ctx, base.shape, b.settings, b.tensors));
    const want = f.tensors.get('logits_lora')!;
    const mask = f.tensors.get('attention_mask')!.data;
    const V = want.shape[2];
    const got = await logits(lora);
    const a: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i]) for (let v = 0; v < V; v++) { a.push(got[i * V + v]); w.push(want.data[i * V + v]); }
    const rel = relError(a, w).rel;
    console.log(`fixture adapter via files: logits_lora relative error vs HF ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });

  it('export → import is bit-identical (tensors and config fields)', async () => {
    const files = fixtureFiles();
    const orig = readPeftFiles(files.config, files.weights);
    const lora = track(importPeft(ctx, base.shape, orig.settings, orig.tensors));
    const exp = await exportPeft(ctx, lora, 'tiny-qwen2');
    const back = readPeftZip(buildPeftZip({ config: exp.config, safetensors: exp.safetensors, readme: modelCard(orig.settings) }));
    expect(back.settings).toEqual(orig.settings);
    for (const k of ['peft_type', 'task_type', 'r', 'lora_alpha', 'bias', 'base_model_name_or_path', 'use_dora', 'use_rslora', 'fan_in_fan_out', 'lora_dropout'] as const) {
      expect(back.config[k], k).toEqual(orig.config[k]);
    }
    expect([...(back.config.target_modules as string[])].sort()).toEqual([...(orig.config.target_modules as string[])].sort());
    expect([...back.tensors.keys()].sort()).toEqual([...orig.tensors.keys()].sort());
    for (const [k, t] of orig.tensors) {
      expect(back.tensors.get(k)!.shape, k).toEqual(t.shape);
      expect(bytesOf(back.tensors.get(k)!.bytes).equals(bytesOf(t.bytes)), k).toBe(true);
    }
    // and once more through the GPU: the second export is byte-identical to the first
    const again = await exportPeft(ctx, track(importPeft(ctx, base.shape, back.settings, back.tensors)), 'tiny-qwen2');
    expect(bytesOf(again.safetensors).equals(bytesOf(exp.safetensors))).toBe(true);
    expect(again.config).toEqual(exp.config);
  });

  it('an adapter trained by TabZero: zip export → import gives identical logits', async () => {
    const a = await trainedByTabZero();
    const l1 = await logits(a);
    const l0 = await logits(null);
    expect(relError(l1, l0).rel, 'the perturbed adapter changes the logits').toBeGreaterThan(1e-3);
    const exp = await exportPeft(ctx, a, base.modelId);
    const zip = buildPeftZip({ config: exp.config, safetensors: exp.safetensors, readme: modelCard({ r: a.r, alpha: a.alpha, targets: a.targets, baseModel: base.modelId }) });
    const b = readPeftZip(zip);
    expect(b.settings).toMatchObject({ r: 8, alpha: 16, targets: a.targets });
    const l2 = await logits(track(importPeft(ctx, base.shape, b.settings, b.tensors)));
    expect(sameBits(l2, l1)).toBe(true);
  });

  describe('storage (fake-indexeddb)', () => {
    let storage: Storage;
    beforeAll(async () => {
      storage = await openStorage({ dbName: 'roundtrip', indexedDB: new IDBFactory() as unknown as globalThis.IDBFactory, chunkBytes: 16 * 1024, locks: null, storageManager: null });
    });

    it('save → load gives identical logits; saving again writes version 2', async () => {
      const a = await trainedByTabZero();
      const l1 = await logits(a);
      const meta = await saveAdapterToStore(ctx, storage, a, { name: 'countdown', base, trainingConfig: { lr: 5e-6 }, step: 40, metricSummary: { reward: 0.5 } });
      expect(meta).toMatchObject({ name: 'countdown', baseModelId: 'tiny-qwen2', baseWeightsHash: 'test:tiny-1', r: 8, alpha: 16, targetModules: a.targets, step: 40, version: 1 });
      expect(meta.chunks.length).toBeGreaterThan(1);
      const { adapter, warnings } = await loadAdapterFromStore(ctx, storage, meta.id, base);
      track(adapter);
      expect(warnings).toEqual([]);
      expect(sameBits(await logits(adapter), l1)).toBe(true);
      const v2 = await saveAdapterToStore(ctx, storage, a, { id: meta.id, name: 'countdown', base, step: 41 });
      expect(v2).toMatchObject({ id: meta.id, version: 2, step: 41 });
    });

    it('a stored adapter for another base: shapes → error, other weights → error (or a warning when allowed)', async () => {
      const a = await trainedByTabZero();
      const meta = await saveAdapterToStore(ctx, storage, a, { name: 'other', base });
      const wider = { ...base, modelId: 'big', shape: { ...base.shape, intermediateSize: 320 } };
      await expect(loadAdapterFromStore(ctx, storage, meta.id, wider)).rejects.toThrow(/adapter 'other' does not fit big: adapter's up_proj is \[out 160, in 64\], the loaded model's is \[out 320, in 64\]/);
      const reweighted = { ...base, modelId: 'tiny-qwen2-instruct', weightsHash: 'test:tiny-2' };
      const err = await loadAdapterFromStore(ctx, storage, meta.id, reweighted).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LoraError);
      expect((err as LoraError).message).toMatch(/was trained on tiny-qwen2 \(weights test:tiny-1\), the loaded model is tiny-qwen2-instruct \(weights test:tiny-2\)/);
      expect((err as LoraError).hint).toMatch(/load tiny-qwen2 first/);
      const ok = await loadAdapterFromStore(ctx, storage, meta.id, reweighted, { allowOtherWeights: true });
      track(ok.adapter);
      expect(ok.warnings[0]).toMatch(/was trained on tiny-qwen2/);
    });
  });
});
