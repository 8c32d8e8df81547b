// Random-weight models on the GPU: the buffers a loaded model has (shapes, formats, parts), their
// bytes against estimateMemory's weights part, plausible values, determinism, and a matmul over one.
import { describe, expect, it } from 'vitest';
import { buildRandomModel, RANDOM_STD } from '../../src/model/random';
import { destroyModel } from '../../src/model/weights';
import { parseQwen2Config } from '../../src/model/config';
import { estimateMemory } from '../../src/model/memory';
import { weightBytes } from '../../src/model/plan';
import { MatmulKernel } from '../../src/kernels/matmul';
import { readBuffer } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { f16BitsToF32 } from '../../src/formats/q4';
import { bf16BitsToF32 } from '../../src/formats/weights';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { tinyConfigJson } from './tiny-checkpoint';

// hidden 128 and intermediate 256: whole even numbers of 64-blocks per row, as at Qwen2.5-1.5B (24 and 140)
const config = parseQwen2Config(tinyConfigJson({ hidden: 128, intermediate: 256, vocab: 512, tie: true }));

describe('buildRandomModel', () => {
  it('q4 linears + bf16 embedding: shapes, bytes = estimateMemory weights (codebooks: one per fused weight)', async () => {
    const ctx = await testGpu();
    new Recorder(ctx); // the uniform arena and the matmul's placeholder buffer exist before counting
    const k = await MatmulKernel.create(ctx);
    const live = ctx.memory.live;
    const m = await buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 1 });
    expect(ctx.memory.live - live).toBe(m.bytes);
    const L = m.layers[0];
    expect([L.qkv.N, L.qkv.K, L.o.N, L.gateUp.N, L.gateUp.K, L.down.N, L.down.K]).toEqual([256, 128, 128, 512, 128, 128, 256]);
    expect([L.qkv.format, L.down.format, m.embed.format]).toEqual(['q4', 'q4', 'bf16']);
    expect(m.lmHead).toBe(m.embed);
    const b = estimateMemory(config, { numSequences: 1, seqLength: 8, loraRank: 1 }).breakdown;
    expect(m.bytes).toBe(b.baseWeights + b.biasesAndNorms + b.embedding + b.lmHead);
    // plausible values: embedding ≈ N(0, 0.02²), scales inside their range, norms 1
    const e = Array.from(new Uint16Array(await readBuffer(ctx.device, m.embed.parts[0].data as GPUBuffer)), bf16BitsToF32);
    const mean = e.reduce((a, v) => a + v, 0) / e.length;
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.sqrt(e.reduce((a, v) => a + (v - mean) ** 2, 0) / e.length)).toBeCloseTo(RANDOM_STD, 3);
    const s = Array.from(new Uint16Array(await readBuffer(ctx.device, L.down.parts[0].scales as GPUBuffer)), f16BitsToF32);
    expect(Math.min(...s)).toBeGreaterThan(0.029);
    expect(Math.max(...s)).toBeLessThan(0.08);
    expect(Array.from(new Float32Array(await readBuffer(ctx.device, L.inputNorm)))).toEqual(new Array(128).fill(1));
    // a matmul over the fused q|k|v gives finite, non-zero outputs
    const x = ctx.memory.upload('x', new Float32Array(128).fill(0.1));
    const y = poisoned(ctx, 256);
    const out = await runAndRead(ctx, y, (rec) => k.encode(rec, x, L.qkv, y, 1));
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    expect(out.some((v) => v !== 0)).toBe(true);
    [x, y].forEach((buf) => ctx.memory.destroy(buf));
    destroyModel(ctx, m);
    expect(ctx.memory.live).toBe(live);
  });

  it('bf16 linears + int8 untied embedding and LM head, split parts; same seed → same weights', async () => {
    const ctx = await testGpu();
    const untied = parseQwen2Config({ ...tinyConfigJson({ hidden: 64, vocab: 300 }), tie_word_embeddings: false });
    const opts = { linearFormat: 'bf16', embedFormat: 'i8', seed: 7, maxBinding: 64 * 64 } as const;
    const a = await buildRandomModel(ctx, untied, opts);
    expect(a.lmHead).not.toBe(a.embed);
    expect([a.embed.format, a.lmHead.format, a.layers[1].gateUp.format]).toEqual(['i8', 'i8', 'bf16']);
    expect(a.embed.parts.map((p) => p.rows)).toEqual([64, 64, 64, 64, 44]);
    expect(a.bytes).toBe(weightBytes(untied, opts).total); // the pre-load plan counts what is allocated
    const b = await buildRandomModel(ctx, untied, opts);
    const read = async (w: typeof a.embed) => new Uint8Array(await readBuffer(ctx.device, w.parts[1].data as GPUBuffer));
    expect(await read(a.layers[1].gateUp)).toEqual(await read(b.layers[1].gateUp));
    expect(await read(a.embed)).not.toEqual(await read(a.lmHead));
    destroyModel(ctx, a);
    destroyModel(ctx, b);
  });

  it('odd block counts (rows of 3 and 5 blocks: scale rows padded to even) are counted exactly by the plan and the estimate', async () => {
    const ctx = await testGpu();
    const odd = parseQwen2Config(tinyConfigJson({ hidden: 192, intermediate: 320, heads: 3, kvHeads: 1, vocab: 260, tie: false }));
    const m = await buildRandomModel(ctx, odd, { linearFormat: 'q4', embedFormat: 'bf16', seed: 3 });
    expect(m.bytes).toBe(weightBytes(odd, { linearFormat: 'q4', embedFormat: 'bf16' }).total);
    const b = estimateMemory(odd, { numSequences: 1, seqLength: 8, loraRank: 1 }).breakdown;
    expect(m.bytes).toBe(b.baseWeights + b.biasesAndNorms + b.embedding + b.lmHead);
    destroyModel(ctx, m);
  });
});
