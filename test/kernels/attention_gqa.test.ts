// GQA-group attention vs the naive references: the split reference equals attentionRef, and the
// GPU kernels equal both — split into chunks (decode rows at different lengths, chunks spanning
// several key blocks, chunks ending inside a block) and direct (one chunk: prefill, the training
// layout, T > 32), G = 8 heads per KV head, D = 256, the Qwen2.5-1.5B head shape — plus when the
// kernel applies and how it cuts the keys; and with RoPE in it (a decode step: the partials rotate
// q and k, the merge caches the token's k and v) against rope_kv's reference followed by the attention's.
import { describe, expect, it } from 'vitest';
import { AttentionGqaKernel, attentionThreads, planSplit, splitScratch, TARGET_WORKGROUPS, type GqaSplit } from '../../src/kernels/attention_gqa';
import { attentionRef } from '../../src/reference/attention';
import { attentionGqaCombineRef, attentionGqaPartialsRef } from '../../src/reference/attention_gqa';
import { ropeKvRef } from '../../src/reference/rope_kv';
import { uploadRopeTable } from '../../src/kernels/rope';
import { readF32 } from '../../src/gpu/buffers';
import { expectClose } from '../helpers/compare';
import { Recorder } from '../../src/gpu/encoder';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { decodeAttentionInputs } from '../helpers/decode-attention';

interface Case { name: string; H: number; K: number; D: number; B: number; L: number; slot: number[]; pos: number[]; S?: number }

const prefill = (n: number, slot = 0) => ({ slot: Array(n).fill(slot), pos: Array.from({ length: n }, (_, i) => i) });
const CASES: Case[] = [
  { name: 'split: 3 slots, lengths 1/70/130, default chunks', H: 4, K: 2, D: 16, B: 3, L: 140, slot: [0, 1, 2], pos: [0, 69, 129] },
  { name: 'split: chunks of 45 keys end inside a block', H: 6, K: 2, D: 12, B: 2, L: 90, slot: [0, 1], pos: [89, 50], S: 2 },
  { name: 'split: Qwen H=12 K=2 D=128, G=3 rows', H: 12, K: 2, D: 128, B: 3, L: 64, slot: [2, 0, 1], pos: [60, 60, 3] },
  { name: 'direct: 3 blocks of 32 keys and a partial one', H: 4, K: 1, D: 8, B: 2, L: 100, slot: [1, 0], pos: [99, 40], S: 1 },
  { name: 'direct: G = 8 heads per kv head, D = 256', H: 8, K: 1, D: 256, B: 1, L: 40, slot: [0, 0], pos: [39, 5], S: 1 },
  { name: 'direct: prefill of 40 tokens (T > 32)', H: 4, K: 2, D: 16, B: 2, L: 48, ...prefill(40, 1) },
  { name: 'split: 200 chunks of 2 keys (more chunks than merge threads), a chunk with 1 key', H: 4, K: 2, D: 16, B: 2, L: 400, slot: [1, 0], pos: [398, 250], S: 200 },
  { name: 'split: D = 48 (32 threads, two dims each), G = 3', H: 3, K: 1, D: 48, B: 2, L: 50, slot: [1, 0], pos: [49, 17] },
  { name: 'direct: training layout 2 sequences × 5 tokens', H: 2, K: 2, D: 8, B: 2, L: 5, slot: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], pos: [0, 1, 2, 3, 4, 0, 1, 2, 3, 4], S: 1 },
];

describe('attention_gqa', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const T = c.slot.length;
      const shape = { T, H: c.H, K: c.K, D: c.D, L: c.L };
      const qkv = normal(T + c.D, T * (c.H + 2 * c.K) * c.D);
      const kc = normal(5, c.B * c.L * c.K * c.D);
      const vc = normal(6, c.B * c.L * c.K * c.D);
      const slot = Int32Array.from(c.slot);
      const pos = Int32Array.from(c.pos);
      const split = planSplit(shape, 1 << 24, c.S) as GqaSplit;
      expect(split.S * split.CH).toBeGreaterThanOrEqual(c.L);
      expect(split.S > 1).toBe(c.name.startsWith('split'));

      const ref = attentionRef(qkv, kc, vc, slot, pos, T, c.H, c.K, c.D, c.L);
      const byChunks = attentionGqaCombineRef(attentionGqaPartialsRef(qkv, kc, vc, slot, pos, T, c.H, c.K, c.D, c.L, split), T, c.H, c.D);
      expectClose(byChunks.out, ref.out, 1e-6, `${c.name}: split reference out`);
      expectClose(byChunks.lse, ref.lse, 1e-6, `${c.name}: split reference lse`);

      const k = await AttentionGqaKernel.create(ctx);
      const b = {
        qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc), vc: ctx.memory.upload('vc', vc),
        slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos),
        part: poisoned(ctx, Math.max(1, splitScratch(shape, split.S)), 'part'), out: poisoned(ctx, T * c.H * c.D), lse: poisoned(ctx, T * c.H),
      };
      const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, split, b));
      const lse = await runAndRead(ctx, b.lse, () => {});
      expectClose(out, ref.out, 1e-5, `${c.name} out`);
      expectClose(lse, ref.lse, 1e-5, `${c.name} lse`);
      if (split.S > 2 && c.H === 12) {
        // the merge's output loop at other chunk counts a trip (a count that leaves a partial last trip)
        k.combineUnroll = 5;
        expectClose(await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, split, b)), ref.out, 1e-5, `${c.name} out, 5 chunks a trip`);
      }
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }

  // decode steps (distinct slots): the token's own key in the first, a middle or the last chunk
  const ROPE_CASES: Array<Case & { theta: number }> = [
    { name: 'split: Qwen H=12 K=2 D=128, 3 slots, own key in chunks 0, 1 and 3', H: 12, K: 2, D: 128, B: 3, L: 64, slot: [2, 0, 1], pos: [60, 0, 20], S: 4, theta: 1e6 },
    { name: 'split: default chunks, G = 2, D = 16', H: 4, K: 2, D: 16, B: 3, L: 140, slot: [0, 1, 2], pos: [0, 69, 129], theta: 1e4 },
    { name: 'split: 2 chunks, G = 8, D = 256', H: 8, K: 1, D: 256, B: 2, L: 40, slot: [1, 0], pos: [39, 5], S: 2, theta: 1e6 },
  ];
  for (const c of ROPE_CASES) {
    it(`RoPE in the kernel, ${c.name}`, async () => {
      const ctx = await testGpu();
      const { T, shape, qkv, rk, rv, ref, buffers } = decodeAttentionInputs(ctx, c, [c.slot.length + 3 * c.D, 11, 12]);
      const split = planSplit(shape, 1 << 24, c.S) as GqaSplit;
      expect(split.S).toBeGreaterThan(1);
      const k = await AttentionGqaKernel.create(ctx);
      const table = uploadRopeTable(ctx, c.theta, c.D, c.L);
      const b = { ...buffers, part: poisoned(ctx, Math.max(1, splitScratch(shape, split.S)), 'part') };
      const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, split, { ...b, rope: table }));
      expectClose(out, ref.out, 1e-5, `${c.name} out`);
      expectClose(await readF32(ctx.device, b.lse, T * c.H), ref.lse, 1e-5, `${c.name} lse`);
      expectClose(await readF32(ctx.device, b.kc, rk.length), rk, 1e-6, `${c.name} k cache`);
      expectClose(await readF32(ctx.device, b.vc, rv.length), rv, 0, `${c.name} v cache`);
      expect(Array.from(await readF32(ctx.device, b.qkv, qkv.length))).toEqual(Array.from(qkv)); // qkv stays unrotated
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
      ctx.memory.destroy(table.buffer);
    });
  }

  it('RoPE in the kernel: a position past the table makes that token NaN and writes no cache cell; refusals', async () => {
    const ctx = await testGpu();
    const [H, K, D, B, L] = [4, 2, 16, 2, 40];
    const shape = { T: 2, H, K, D, L };
    const qkv = normal(21, 2 * (H + 2 * K) * D);
    const kc0 = normal(22, B * L * K * D);
    const vc0 = normal(23, B * L * K * D);
    const slot = Int32Array.from([0, 1]);
    const pos = Int32Array.from([9, 30]); // the table holds 20 positions
    const split = planSplit(shape, 1 << 24, 3) as GqaSplit;
    const k = await AttentionGqaKernel.create(ctx);
    const table = uploadRopeTable(ctx, 1e6, D, 20);
    const b = {
      qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc0), vc: ctx.memory.upload('vc', vc0),
      slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos),
      part: poisoned(ctx, splitScratch(shape, split.S), 'part'), out: poisoned(ctx, 2 * H * D), lse: poisoned(ctx, 2 * H),
    };
    const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, split, { ...b, rope: table }));
    const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)];
    const ref = attentionRef(ropeKvRef(qkv, slot, pos, rk, rv, { ...shape, theta: 1e6 }), rk, rv, slot, pos, 2, H, K, D, L);
    expectClose(out.subarray(0, H * D), ref.out.subarray(0, H * D), 1e-5, 'token 0 out');
    expect(Array.from(out.subarray(H * D)).every(Number.isNaN)).toBe(true);
    const kc = await readF32(ctx.device, b.kc, kc0.length);
    const row = (1 * L + 30) * K * D; // slot 1, position 30: untouched
    expect(Array.from(kc.subarray(row, row + K * D))).toEqual(Array.from(kc0.subarray(row, row + K * D)));
    expectClose(kc.subarray(0, L * K * D), rk.subarray(0, L * K * D), 1e-6, 'slot 0 cache');
    const t12 = uploadRopeTable(ctx, 1e6, 12, 20);
    expect(() => k.encode(new Recorder(ctx, 't'), { ...shape, D: 12 }, split, { ...b, rope: t12 })).toThrow(/multiple of 8/);
    expect(() => k.encode(new Recorder(ctx, 't'), shape, { S: 1, CH: L }, { ...b, rope: table })).toThrow(/split into chunks/);
    expect([AttentionGqaKernel.ropeFusable(128, split), AttentionGqaKernel.ropeFusable(12, split), AttentionGqaKernel.ropeFusable(128, { S: 1, CH: L })]).toEqual([true, false, false]);
    ctx.memory.destroy(t12.buffer);
    Object.values(b).forEach((x) => ctx.memory.destroy(x));
    ctx.memory.destroy(table.buffer);
  });

  it('plans: more chunks for fewer rows, within the scratch; one chunk past 32 tokens; null where it does not apply', () => {
    const qwen = { H: 12, K: 2, D: 128, L: 384 };
    const big = 1 << 24;
    expect(planSplit({ ...qwen, T: 1 }, big)).toEqual({ S: 24, CH: 16 }); // 48 workgroups of 16 keys, not 12 walking 384
    expect(planSplit({ ...qwen, T: 16 }, big)).toEqual({ S: 12, CH: 32 }); // 256 workgroups wanted: 8 chunks of 48, cut to whole blocks of 32
    expect(planSplit({ ...qwen, T: 16 }, splitScratch({ ...qwen, T: 16 }, 10))).toEqual({ S: 8, CH: 48 }); // no room for 12: 48 stays
    expect(planSplit({ ...qwen, T: 16 }, splitScratch({ ...qwen, T: 16 }, 3))).toEqual({ S: 3, CH: 128 });
    expect(planSplit({ ...qwen, T: 16 }, splitScratch({ ...qwen, T: 16 }, 2) - 1)).toEqual({ S: 1, CH: 384 }); // no room for 2: direct
    expect(planSplit({ ...qwen, T: 3072 }, 0)).toEqual({ S: 1, CH: 384 }); // training: direct, no scratch
    expect(planSplit({ ...qwen, T: 1 }, big, undefined, TARGET_WORKGROUPS.software)).toEqual({ S: 1, CH: 384 });
    expect(planSplit({ ...qwen, L: 5, T: 1 }, big)).toEqual({ S: 1, CH: 5 });
    expect(planSplit({ ...qwen, H: 18, K: 2, T: 1 }, big)).toBeNull(); // G = 9: attention.wgsl
    expect(planSplit({ ...qwen, L: 4000, T: 1 }, big, 1000)).toEqual({ S: 250, CH: 16 }); // at most MAX_CHUNKS = 256 (the merge's workgroup arrays)
    expect(planSplit({ ...qwen, D: 302, T: 1 }, big)).toBeNull(); // D not a multiple of 4
    expect([16, 48, 63, 64, 128, 256].map(attentionThreads)).toEqual([32, 32, 32, 128, 128, 128]); // D ≤ 2 · threads
  });
});
