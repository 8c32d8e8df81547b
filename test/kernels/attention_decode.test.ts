// Decode attention in one dispatch (src/kernels/attention_decode.ts) against its reference (rope_kv's followed by
// the attention's, src/reference/attention_decode.ts): out, lse, the token's k and v written to its cache cell and
// nothing else, qkv left unrotated — for Qwen's head shape, more keys than key slots (several trips, a short last
// one), every lane layout SwiftShader's 4-wide subgroups take (1, 2, 4 lanes a key; 1 or 2 keys a trip; 32…256
// threads: one to eight rounds of the subgroups' merge); a position past the table makes that token NaN and caches
// nothing; the lane layouts it picks and the shapes it refuses; and in the engine, a sampled rollout with LoRA
// against the two-kernel path.
import { describe, expect, it } from 'vitest';
import { AttentionDecodeKernel, type AttentionDecodeLayout } from '../../src/kernels/attention_decode';
import { uploadRopeTable } from '../../src/kernels/rope';
import { readF32 } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { expectClose } from '../helpers/compare';
import { decodeAttentionInputs } from '../helpers/decode-attention';
import { tinyCheckpoint } from '../model/tiny-checkpoint';
import { loadModel } from '../../src/model/loader';
import { Engine } from '../../src/model/engine';
import { generate } from '../../src/model/generate';
import { createLora, destroyLora } from '../../src/lora/adapter';
import { readLoraTensors } from '../../src/lora/peft';
import { writeAdapterTensors } from '../../src/grpo/session';
import { destroyModel } from '../../src/model/weights';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { name: string; H: number; K: number; D: number; B: number; L: number; slot: number[]; pos: number[]; theta: number; table?: number; layout?: Partial<AttentionDecodeLayout> }

const CASES: Case[] = [
  { name: 'Qwen H=12 K=2 D=128, 3 slots, 384 keys (3 trips)', H: 12, K: 2, D: 128, B: 3, L: 400, slot: [2, 0, 1], pos: [383, 0, 200], theta: 1e6 },
  { name: '600 keys (several trips), G = 2, D = 16, 1 lane a key, 1 key a trip', H: 4, K: 2, D: 16, B: 2, L: 640, slot: [1, 0], pos: [599, 257], theta: 1e4, layout: { lanes: 1, keys: 1 } },
  { name: '600 keys, D = 16, 2 lanes a key, 2 keys a trip, 32 threads', H: 4, K: 2, D: 16, B: 2, L: 640, slot: [1, 0], pos: [599, 130], theta: 1e4, layout: { lanes: 2, keys: 2, threads: 32 } },
  { name: '300 keys, D = 32, 4 lanes a key, 1 key a trip, 64 threads', H: 6, K: 3, D: 32, B: 2, L: 300, slot: [0, 1], pos: [299, 64], theta: 1e4, layout: { lanes: 4, keys: 1, threads: 64 } },
  { name: 'a position past the table: NaN, no cache cell', H: 4, K: 2, D: 16, B: 2, L: 40, slot: [0, 1], pos: [9, 30], theta: 1e6, table: 20 },
];

describe('attention_decode (one dispatch, RoPE and the cache write inside)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const { T, shape, qkv, kc0, vc0, rk, rv, ref, buffers: b } = decodeAttentionInputs(ctx, c, [c.slot.length + 5 * c.D, 31, 32]);
      const k = await AttentionDecodeKernel.create(ctx);
      k.layout = { ...k.layout, ...c.layout };
      expect(k.fits(shape), `${c.name}: fits`).toBe(true);
      const table = uploadRopeTable(ctx, c.theta, c.D, c.table ?? c.L);
      const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, table, b));
      const lse = await readF32(ctx.device, b.lse, T * c.H);
      const kc = await readF32(ctx.device, b.kc, kc0.length);
      const vc = await readF32(ctx.device, b.vc, vc0.length);
      const cell = c.H * c.D; // a token's out
      for (let t = 0; t < T; t++) {
        const past = c.table !== undefined && c.pos[t] >= c.table;
        const o = out.subarray(t * cell, (t + 1) * cell);
        if (past) {
          expect(Array.from(o).every(Number.isNaN), `${c.name} token ${t} NaN`).toBe(true);
          expect(Number.isNaN(lse[t * c.H]), `${c.name} token ${t} lse NaN`).toBe(true);
          const row = (c.slot[t] * c.L + c.pos[t]) * c.K * c.D; // its cell: untouched
          expect(Array.from(kc.subarray(row, row + c.K * c.D))).toEqual(Array.from(kc0.subarray(row, row + c.K * c.D)));
          continue;
        }
        expectClose(o, ref.out.subarray(t * cell, (t + 1) * cell), 1e-5, `${c.name} token ${t} out`);
        expectClose(lse.subarray(t * c.H, (t + 1) * c.H), ref.lse.subarray(t * c.H, (t + 1) * c.H), 1e-5, `${c.name} token ${t} lse`);
        const s = c.slot[t] * c.L * c.K * c.D;
        const n = c.L * c.K * c.D;
        expectClose(kc.subarray(s, s + n), rk.subarray(s, s + n), 1e-6, `${c.name} token ${t} k cache`);
        expectClose(vc.subarray(s, s + n), rv.subarray(s, s + n), 0, `${c.name} token ${t} v cache`);
      }
      expect(Array.from(await readF32(ctx.device, b.qkv, qkv.length))).toEqual(Array.from(qkv)); // qkv stays unrotated
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
      ctx.memory.destroy(table.buffer);
    });
  }

  it('takes the lanes a key to the subgroup width and a head that fits; refuses the rest with a hint', async () => {
    const ctx = await testGpu();
    const k = await AttentionDecodeKernel.create(ctx);
    const w = ctx.subgroupMinSize;
    k.layout = { lanes: 32, keys: 2, threads: 256 };
    expect(k.lanesFor(16)).toBe(Math.min(w, 4)); // D = 16: 4 vec4s, never more lanes than vec4s
    expect(k.lanesFor(128)).toBe(w >= 4 ? Math.min(w, 32) : 0); // ≤ 8 vec4s a lane: 4+ lanes
    k.layout = { lanes: 1, keys: 2, threads: 256 };
    expect(k.lanesFor(128)).toBe(w >= 4 ? 4 : 0); // raised from 1 until a lane holds 8 vec4s
    expect(k.fits({ T: 1, H: 12, K: 2, D: 128, L: 4096 })).toBe(w >= 4); // no limit on the keys
    const table = uploadRopeTable(ctx, 1e6, 12, 20);
    const x = ctx.memory.create('x', 64);
    const b = { qkv: x, kc: x, vc: x, slot: x, pos: x, out: x, lse: x };
    expect(() => k.encode(new Recorder(ctx, 't'), { T: 1, H: 4, K: 2, D: 12, L: 20 }, table, b)).toThrow(/multiple of 8.*hint: use the split attention/);
    expect(() => k.encode(new Recorder(ctx, 't'), { T: 1, H: 5, K: 2, D: 16, L: 20 }, table, b)).toThrow(/H a multiple of K/);
    ctx.memory.destroy(x);
    ctx.memory.destroy(table.buffer);
  });

  it('is not offered without subgroups', async () => {
    const ctx = await testGpu(['subgroups']);
    const k = await AttentionDecodeKernel.create(ctx);
    expect(k.fits({ T: 1, H: 12, K: 2, D: 128, L: 384 })).toBe(false);
  });

  it('in the engine: a sampled rollout of 2 prompts × 3 rows (6 slots at different positions), with LoRA, gives the tokens and log-probs of rope_kv + attention_gqa (SwiftShader\'s decode path)', async () => {
    const ctx = await testGpu();
    const ck = await tinyCheckpoint({ hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 64, tie: false, lmHeadStd: 0.15, seed: 11 });
    const weights = await loadModel(ctx, { config: ck.config, model: ck.model }, { linearFormat: 'q4', embedFormat: 'bf16', log: () => {} });
    const engine = await Engine.create(ctx, weights, { maxTokens: 16, maxPositions: 24, maxRank: 8 });
    const c = weights.config;
    const lora = createLora(ctx, { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim }, { r: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], seed: 5 });
    const tensors = await readLoraTensors(ctx, lora);
    for (const [key, t] of tensors) if (key.includes('lora_B')) t.data.set(normal(key.length, t.data.length, 0.05)); // B ≠ 0: the adapter changes k and v
    writeAdapterTensors(ctx, lora, tensors);
    const k = engine.k;
    const before = k.decodeFusion;
    const encode = k.attentionDecode.encode;
    let ones = 0;
    k.attentionDecode.encode = (...a) => { ones++; encode.apply(k.attentionDecode, a); };
    const run = async (attentionOne: number) => {
      k.decodeFusion = { ...before, attentionOne };
      try {
        return await generate(engine, { prompts: [[20, 21, 22, 23, 24, 25, 26], [30, 31]], G: 3, maxNewTokens: 12, eosIds: [], lora, sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 4 } });
      } finally {
        k.decodeFusion = before;
      }
    };
    try {
      const split = await run(0);
      expect(ones).toBe(0);
      const one = await run(Infinity);
      expect(ones).toBeGreaterThan(0); // (a decode step is encoded once, then replayed)
      expect(one.completions).toEqual(split.completions);
      for (let r = 0; r < 6; r++) expectClose(Float32Array.from(one.logps[r]), Float32Array.from(split.logps[r]), 1e-4, `row ${r} log-probs`);
    } finally {
      k.attentionDecode.encode = encode;
      destroyLora(ctx, lora);
      engine.destroy();
      destroyModel(ctx, weights);
    }
  });
});
