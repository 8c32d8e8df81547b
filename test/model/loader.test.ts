// loadModel on tiny checkpoints made in the test (BF16, F16, F32; bitsandbytes NF4 with and without
// double quantization; skip modules; two shards) and on the reference-tiny fixture: every GPU buffer
// is read back and compared with the CPU reference of its format (q4: codes and scales bit-exact
// with quantizeQ4; bf16 and i8: exact), plus errors, split embeddings, progress and abort.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, type LoadOptions, type LoadProgress } from '../../src/model/loader';
import { destroyModel, type ModelWeights } from '../../src/model/weights';
import { parseQwen2Config } from '../../src/model/config';
import type { Weight } from '../../src/kernels/matmul';
import { readBuffer } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import type { GpuContext } from '../../src/gpu/device';
import { quantizeQ4, f16BitsToF32, scaleStride, NF4_CODEBOOK } from '../../src/formats/q4';
import { f32ToBf16Bits, packWeight } from '../../src/formats/weights';
import { openShards } from '../../src/formats/shards';
import { openFileSource } from '../../src/formats/node-source';
import { readSafetensors, toFloat32 } from '../../src/formats/safetensors';
import { readFileSync } from 'node:fs';
import { testGpu } from '../helpers/gpu';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { tinyCheckpoint, type TinyCheckpoint, type TinyOptions } from './tiny-checkpoint';

const quiet: Pick<LoadOptions, 'log'> = { log: () => {} };

/** GPU bytes in use once the lazily made uniform arena exists (so a load's buffers are all that change) */
async function baseline(): Promise<number> {
  const ctx = await testGpu();
  new Recorder(ctx, 'warm-up');
  return ctx.memory.live;
}

async function bytesOf(ctx: GpuContext, w: Weight, which: 'data' | 'scales'): Promise<Uint8Array> {
  const chunks = await Promise.all(w.parts.map(async (p) => new Uint8Array(await readBuffer(ctx.device, (which === 'data' ? p.data : p.scales) as GPUBuffer))));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

const f32 = async (ctx: GpuContext, b: GPUBuffer) => new Float32Array(await readBuffer(ctx.device, b));

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function expectExact(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  const i = firstDiff(got, want);
  expect(i, `${label}: element ${i} is ${got[i]}, want ${want[i]} (lengths ${got.length}, ${want.length})`).toBe(-1);
}

/** rows of the named tensors stacked (a fused weight's reference values) */
function stacked(ck: TinyCheckpoint, names: string[]): Float32Array {
  const parts = names.map((n) => ck.floats.get(n)?.values ?? ck.bnb.get(n)?.dequant);
  if (parts.some((p) => !p)) throw new Error(`no reference for ${names.join(', ')}`);
  const out = new Float32Array(parts.reduce((s, p) => s + p!.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p!, at); at += p!.length; }
  return out;
}

/** Checks one weight against the reference values in its format: q4 bit-exact with quantizeQ4, bf16 bits, i8 as packWeight. */
async function expectWeight(ctx: GpuContext, w: Weight, values: Float32Array, label: string): Promise<void> {
  const data = await bytesOf(ctx, w, 'data');
  if (w.format === 'q4') {
    const q = quantizeQ4(values, w.N, w.K);
    expectExact(new Uint32Array(data.buffer), q.codes, `${label} codes`);
    expectExact(new Uint16Array((await bytesOf(ctx, w, 'scales')).buffer), q.scales, `${label} scales`);
    expectExact(await f32(ctx, w.codebook!), NF4_CODEBOOK, `${label} codebook`);
  } else if (w.format === 'bf16') {
    expectExact(new Uint16Array(data.buffer), Uint16Array.from(values, f32ToBf16Bits), `${label} bf16`);
  } else {
    const h = packWeight('i8', values, w.N, w.K);
    if (h.format !== 'i8') throw new Error('unreachable');
    expectExact(new Int8Array(data.buffer), h.q, `${label} i8`);
    expectExact(new Float32Array((await bytesOf(ctx, w, 'scales')).buffer), h.scales, `${label} i8 scales`);
  }
}

/** Every buffer of a loaded tiny model vs the checkpoint's stored values. */
async function expectModel(ctx: GpuContext, m: ModelWeights, ck: TinyCheckpoint): Promise<void> {
  await expectWeight(ctx, m.embed, stacked(ck, ['model.embed_tokens.weight']), 'embed');
  if (!ck.config.tieWordEmbeddings) await expectWeight(ctx, m.lmHead, stacked(ck, ['lm_head.weight']), 'lm_head');
  else expect(m.lmHead).toBe(m.embed);
  expectExact(await f32(ctx, m.finalNorm), stacked(ck, ['model.norm.weight']), 'final norm');
  for (let l = 0; l < m.layers.length; l++) {
    const p = `model.layers.${l}`;
    const L = m.layers[l];
    const at = (mod: string, names: string[]) => names.map((n) => `${p}.${mod}.${n}.weight`);
    await expectWeight(ctx, L.qkv, stacked(ck, at('self_attn', ['q_proj', 'k_proj', 'v_proj'])), `${p} qkv`);
    expectExact(await f32(ctx, L.qkv.bias!), stacked(ck, ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}.bias`)), `${p} qkv bias`);
    await expectWeight(ctx, L.o, stacked(ck, at('self_attn', ['o_proj'])), `${p} o`);
    await expectWeight(ctx, L.gateUp, stacked(ck, at('mlp', ['gate_proj', 'up_proj'])), `${p} gate_up`);
    await expectWeight(ctx, L.down, stacked(ck, at('mlp', ['down_proj'])), `${p} down`);
    expectExact(await f32(ctx, L.inputNorm), stacked(ck, [`${p}.input_layernorm.weight`]), `${p} input norm`);
    expectExact(await f32(ctx, L.postNorm), stacked(ck, [`${p}.post_attention_layernorm.weight`]), `${p} post norm`);
  }
}

async function loadAndCheck(o: TinyOptions, opts: Pick<LoadOptions, 'linearFormat' | 'embedFormat'> & Partial<LoadOptions>): Promise<ModelWeights> {
  const ctx = await testGpu();
  const ck = await tinyCheckpoint(o);
  const m = await loadModel(ctx, ck, { ...quiet, ...opts });
  await expectModel(ctx, m, ck);
  return m;
}

describe('loadModel: BF16 / F16 / F32 checkpoints', () => {
  const combos: Array<[TinyOptions, LoadOptions['linearFormat'], LoadOptions['embedFormat']]> = [
    [{ dtype: 'BF16' }, 'q4', 'bf16'],
    [{ dtype: 'BF16' }, 'bf16', 'i8'],
    [{ dtype: 'F32', tie: false }, 'q4', 'i8'],
    [{ dtype: 'F32' }, 'bf16', 'bf16'],
    [{ dtype: 'F16', sharded: true }, 'q4', 'bf16'],
    [{ dtype: 'F16', tie: false }, 'bf16', 'i8'],
  ];
  for (const [o, linearFormat, embedFormat] of combos) {
    it(`${o.dtype}${o.tie === false ? ' untied' : ''}${o.sharded ? ' (2 shards)' : ''} → linears ${linearFormat}, embedding ${embedFormat}`, async () => {
      const ctx = await testGpu();
      const live = await baseline();
      const m = await loadAndCheck(o, { linearFormat, embedFormat });
      expect(m.linearFormat).toBe(linearFormat);
      expect(m.layers[0].qkv.format).toBe(linearFormat);
      destroyModel(ctx, m);
      expect(ctx.memory.live).toBe(live);
    });
  }

  it('byte count: ModelWeights.bytes is what the buffer layer counted', async () => {
    const ctx = await testGpu();
    const live = await baseline();
    const ck = await tinyCheckpoint({ dtype: 'BF16' });
    const m = await loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat: 'bf16' });
    expect(ctx.memory.live - live).toBe(m.bytes);
    destroyModel(ctx, m);
  });
});

describe('loadModel: checkpoint errors, split embeddings, progress, abort', () => {
  it('a missing tensor fails before anything is allocated, naming it', async () => {
    const ctx = await testGpu();
    const live = await baseline();
    const ck = await tinyCheckpoint({ omit: 'model.layers.1.mlp.up_proj.weight' });
    await expect(loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat: 'bf16' })).rejects.toMatchObject({
      name: 'CheckpointError', message: expect.stringContaining('lacks tensor "model.layers.1.mlp.up_proj.weight" (expected shape [160, 64])'),
    });
    expect(ctx.memory.live).toBe(live);
  });

  it('a tensor of the wrong shape is named with both shapes', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ reshape: { name: 'model.layers.0.self_attn.k_proj.weight', shape: [64, 32] } });
    await expect(loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat: 'bf16' })).rejects.toThrow(
      'tensor "model.layers.0.self_attn.k_proj.weight" has shape [64, 32]; config.json implies [32, 64]');
  });

  for (const embedFormat of ['bf16', 'i8'] as const) {
    it(`an embedding larger than the binding limit is split into 64-row parts (${embedFormat})`, async () => {
      const ctx = await testGpu();
      const maxBinding = 64 * 64 * (embedFormat === 'bf16' ? 2 : 1) + 100; // 64 rows of C = 64 per part
      const m = await loadAndCheck({ dtype: 'BF16', vocab: 200, tie: false }, { linearFormat: 'bf16', embedFormat, maxBinding });
      expect(m.embed.parts.map((p) => [p.rowOffset, p.rows])).toEqual([[0, 64], [64, 64], [128, 64], [192, 8]]);
      expect(m.lmHead.parts).toHaveLength(4);
      destroyModel(ctx, m);
    });
  }

  it('progress is monotonic in bytes and ends at the total', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ dtype: 'BF16', sharded: true });
    const events: LoadProgress[] = [];
    const m = await loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat: 'bf16', onProgress: (p) => events.push(p) });
    expect(events[0]).toMatchObject({ phase: 'check', bytesDone: 0 });
    const last = events[events.length - 1];
    expect(last.phase).toBe('done');
    expect(last.bytesDone).toBe(ck.model.totalBytes);
    expect(events.filter((e) => e.phase === 'weights').length).toBeGreaterThan(10);
    for (let i = 1; i < events.length; i++) {
      expect(events[i].bytesDone).toBeGreaterThanOrEqual(events[i - 1].bytesDone);
      expect(events[i].bytesTotal).toBe(ck.model.totalBytes);
    }
    destroyModel(ctx, m);
  });

  it('abort stops the load, rejects with "aborted" and frees every buffer', async () => {
    const ctx = await testGpu();
    const live = await baseline();
    const ck = await tinyCheckpoint({ dtype: 'BF16' });
    const ac = new AbortController();
    let seen = 0;
    const p = loadModel(ctx, ck, {
      ...quiet, linearFormat: 'q4', embedFormat: 'bf16', signal: ac.signal,
      onProgress: (e) => { if (e.phase === 'weights' && ++seen === 3) ac.abort(); },
    });
    await expect(p).rejects.toMatchObject({ name: 'SourceError', code: 'aborted' });
    expect(ctx.memory.live).toBe(live);
  });
});

describe('loadModel: the reference-tiny fixture', () => {
  it('loads with bf16 linears and every tensor is bit-exact', async () => {
    const ctx = await testGpu();
    const dir = join(FIXTURES_DIR, 'reference-tiny', 'model');
    const config = parseQwen2Config(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const source = await openFileSource(join(dir, 'model.safetensors'));
    const model = await openShards([{ file: 'model.safetensors', source }], null);
    const m = await loadModel(ctx, { config, model }, { ...quiet, linearFormat: 'bf16', embedFormat: 'bf16' });
    await source.close();
    const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    const ck: TinyCheckpoint = { config, model, floats: new Map(), bnb: new Map(), files: new Map() };
    for (const [name, t] of tensors) {
      expect(t.info.dtype).toBe('BF16');
      ck.floats.set(name, { dtype: 'BF16', shape: t.info.shape, values: toFloat32('BF16', t.bytes) });
    }
    await expectModel(ctx, m, ck);
    // bf16 linears are the checkpoint's own bits
    const raw = tensors.get('model.layers.1.mlp.down_proj.weight')!.bytes;
    expectExact(new Uint16Array((await bytesOf(ctx, m.layers[1].down, 'data')).buffer), new Uint16Array(raw.slice().buffer), 'down bits');
    destroyModel(ctx, m);
  });
});

describe('loadModel: bitsandbytes NF4 checkpoints', () => {
  for (const doubleQuant of [true, false]) {
    it(`bnb NF4 (double quant ${doubleQuant}) → q4 keeps bnb's codes; weights within the f16 scale rounding of bnb's dequantization`, async () => {
      const ctx = await testGpu();
      const ck = await tinyCheckpoint({ bnb: { doubleQuant }, sharded: doubleQuant });
      const notes: string[] = [];
      const m = await loadModel(ctx, ck, { linearFormat: 'q4', embedFormat: 'bf16', log: (n) => notes.push(n) });
      for (let l = 0; l < 2; l++) {
        const p = `model.layers.${l}`;
        for (const [w, names] of [[m.layers[l].qkv, ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj']], [m.layers[l].o, ['self_attn.o_proj']], [m.layers[l].gateUp, ['mlp.gate_proj', 'mlp.up_proj']]] as const) {
          expect(w.format).toBe('q4');
          await expectBnbRepacked(ctx, w, names.map((n) => ck.bnb.get(`${p}.${n}.weight`)!), `${p} ${names.join('|')}`);
        }
        // down_proj: K = 160 is not a multiple of 64, so bnb's blocks cross rows: requantized from bnb's values
        await expectWeight(ctx, m.layers[l].down, ck.bnb.get(`${p}.mlp.down_proj.weight`)!.dequant, `${p} down (requantized)`);
      }
      expect(notes.filter((n) => n.includes('blocks cross rows'))).toHaveLength(2);
      expectExact(await f32(ctx, m.layers[0].qkv.bias!), stacked(ck, ['q_proj', 'k_proj', 'v_proj'].map((n) => `model.layers.0.self_attn.${n}.bias`)), 'bias');
      await expectWeight(ctx, m.embed, stacked(ck, ['model.embed_tokens.weight']), 'embed');
      destroyModel(ctx, m);
    });
  }

  it('bnb NF4 → bf16 linears are bnb\'s dequantization rounded to bf16 (what dequantize_4bit returns in bf16)', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ bnb: { doubleQuant: true } });
    const m = await loadModel(ctx, ck, { ...quiet, linearFormat: 'bf16', embedFormat: 'i8' });
    await expectModel(ctx, m, ck);
    destroyModel(ctx, m);
  });

  it('llm_int8_skip_modules stay 16-bit: their fused weight loads as bf16 next to q4 ones', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ bnb: { doubleQuant: true, skip: ['lm_head', 'model.layers.1.mlp'] }, tie: false });
    expect(ck.floats.has('model.layers.1.mlp.gate_proj.weight')).toBe(true);
    const notes: string[] = [];
    const m = await loadModel(ctx, ck, { linearFormat: 'q4', embedFormat: 'bf16', log: (n) => notes.push(n) });
    expect(m.layers[1].gateUp.format).toBe('bf16');
    expect(m.layers[1].down.format).toBe('bf16');
    expect(m.layers[1].qkv.format).toBe('q4');
    expect(m.layers[0].gateUp.format).toBe('q4');
    expect(notes.some((n) => n.includes('kept 16-bit'))).toBe(true);
    await expectWeight(ctx, m.layers[1].gateUp, stacked(ck, ['gate_proj', 'up_proj'].map((n) => `model.layers.1.mlp.${n}.weight`)), 'skipped gate_up');
    await expectWeight(ctx, m.layers[1].down, stacked(ck, ['model.layers.1.mlp.down_proj.weight']), 'skipped down');
    await expectWeight(ctx, m.lmHead, stacked(ck, ['lm_head.weight']), 'lm_head');
    destroyModel(ctx, m);
  });

  it('an untied, quantized bnb lm_head is dequantized into the 16/8-bit table', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ bnb: { doubleQuant: false, skip: [] }, tie: false });
    expect(ck.bnb.has('lm_head.weight')).toBe(true);
    for (const embedFormat of ['bf16', 'i8'] as const) {
      const m = await loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat });
      await expectWeight(ctx, m.lmHead, ck.bnb.get('lm_head.weight')!.dequant, `lm_head ${embedFormat}`);
      destroyModel(ctx, m);
    }
  });

  it('a bnb checkpoint with blocks other than 64 is rejected with a hint', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ bnb: { doubleQuant: false } });
    const name = 'model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4';
    const shard = ck.model.shards[0];
    const info = shard.header.tensors.find((t) => t.name === name)!;
    const bytes = ck.files.get('model.safetensors')!;
    const at = shard.header.dataOffset + info.begin;
    const text = new TextDecoder().decode(bytes.subarray(at, shard.header.dataOffset + info.end)).replace('"blocksize": 64', '"blocksize": 32').replace('"blocksize":64', '"blocksize":32');
    bytes.set(new TextEncoder().encode(text), at);
    await expect(loadModel(ctx, ck, { ...quiet, linearFormat: 'q4', embedFormat: 'bf16' })).rejects.toMatchObject({
      name: 'CheckpointError', message: expect.stringContaining('uses blocks of 32'), hint: expect.stringContaining('blocksize 64'),
    });
  });
});

/** A q4 weight repacked from bnb tensors stacked by rows: same codes, f16(absmax) scales, quant_map codebook. */
async function expectBnbRepacked(ctx: GpuContext, w: Weight, parts: Array<{ N: number; K: number; packed: Uint8Array; absmax: Float32Array; dequant: Float32Array }>, label: string): Promise<void> {
  const codes = new Uint32Array((await bytesOf(ctx, w, 'data')).buffer);
  const scales = new Uint16Array((await bytesOf(ctx, w, 'scales')).buffer);
  const cb = await f32(ctx, w.codebook!);
  const ss = scaleStride(w.K);
  let row0 = 0;
  let worst = 0;
  for (const t of parts) {
    for (let i = 0; i < t.N * t.K; i++) {
      const n = row0 + Math.floor(i / t.K);
      const k = i % t.K;
      const idx = n * w.K + k;
      const ours = (codes[idx >>> 3] >>> (4 * (idx & 7))) & 15;
      const theirs = i & 1 ? t.packed[i >> 1] & 15 : t.packed[i >> 1] >> 4;
      if (ours !== theirs) throw new Error(`${label}: code of row ${n} col ${k} is ${ours}, bnb has ${theirs}`);
      const s = f16BitsToF32(scales[n * ss + (k >> 6)]);
      const got = cb[ours] * s;
      // bound: f16 rounding of the absmax, relative 2^-11 (scales here are far above the f16 normal minimum 2^-14)
      const err = Math.abs(got - t.dequant[i]);
      expect(err, `${label} [${n}, ${k}]: ${got} vs bnb ${t.dequant[i]}`).toBeLessThanOrEqual(2 ** -11 * Math.abs(t.dequant[i]));
      if (t.dequant[i] !== 0) worst = Math.max(worst, err / Math.abs(t.dequant[i]));
    }
    row0 += t.N;
  }
  expect(worst).toBeGreaterThan(0); // the scales really are rounded
}
