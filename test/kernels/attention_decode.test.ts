// Split-KV decode attention vs the naive references: the split reference equals attentionRef, and
// the GPU kernels equal both — decode rows at different lengths, chunks spanning several key
// blocks, chunks ending inside a block, one chunk per token, G = 8 heads per KV head, D = 256, the
// Qwen2.5-1.5B head shape — plus when the split applies and how it cuts the keys.
import { describe, expect, it } from 'vitest';
import { AttentionDecodeKernel, planSplit, splitScratch, TARGET_WORKGROUPS, type DecodeSplit } from '../../src/kernels/attention_decode';
import { attentionRef } from '../../src/reference/attention';
import { attentionDecodeCombineRef, attentionDecodePartialsRef } from '../../src/reference/attention_decode';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { name: string; H: number; K: number; D: number; B: number; L: number; slot: number[]; pos: number[]; S?: number }

const CASES: Case[] = [
  { name: '3 slots, lengths 1/70/130, default split', H: 4, K: 2, D: 16, B: 3, L: 140, slot: [0, 1, 2], pos: [0, 69, 129] },
  { name: 'one chunk per token: 3 blocks of 32 keys and a partial one', H: 4, K: 1, D: 8, B: 2, L: 100, slot: [1, 0], pos: [99, 40], S: 1 },
  { name: 'chunks of 45 keys end inside a block', H: 6, K: 2, D: 12, B: 2, L: 90, slot: [0, 1], pos: [89, 50], S: 2 },
  { name: 'G = 8 heads per kv head, D = 256', H: 8, K: 1, D: 256, B: 1, L: 40, slot: [0, 0], pos: [39, 5] },
  { name: 'Qwen H=12 K=2 D=128, G=3 rows at pos 60', H: 12, K: 2, D: 128, B: 3, L: 64, slot: [2, 0, 1], pos: [60, 60, 3] },
  { name: 'prefill-like: one slot, T = 5 positions', H: 2, K: 2, D: 4, B: 1, L: 8, slot: [0, 0, 0, 0, 0], pos: [0, 1, 2, 3, 4] },
];

describe('attention_decode', () => {
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
      const split = planSplit(shape, 1 << 24, c.S) as DecodeSplit;
      expect(split).not.toBeNull();
      expect(split.S * split.CH).toBeGreaterThanOrEqual(c.L);

      const ref = attentionRef(qkv, kc, vc, slot, pos, T, c.H, c.K, c.D, c.L);
      const split_ = attentionDecodeCombineRef(attentionDecodePartialsRef(qkv, kc, vc, slot, pos, T, c.H, c.K, c.D, c.L, split), T, c.H, c.D);
      expectClose(split_.out, ref.out, 1e-6, `${c.name}: split reference out`);
      expectClose(split_.lse, ref.lse, 1e-6, `${c.name}: split reference lse`);

      const k = await AttentionDecodeKernel.create(ctx);
      const b = {
        qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc), vc: ctx.memory.upload('vc', vc),
        slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos),
        part: poisoned(ctx, splitScratch(shape, split.S), 'part'), out: poisoned(ctx, T * c.H * c.D), lse: poisoned(ctx, T * c.H),
      };
      const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, shape, split, b));
      const lse = await runAndRead(ctx, b.lse, () => {});
      expectClose(out, ref.out, 1e-5, `${c.name} out`);
      expectClose(lse, ref.lse, 1e-5, `${c.name} lse`);
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }

  it('plans: more chunks for fewer rows, within the scratch, never where it does not apply', () => {
    const qwen = { H: 12, K: 2, D: 128, L: 384 };
    const one = planSplit({ ...qwen, T: 1 }, 1 << 24) as DecodeSplit;
    const sixteen = planSplit({ ...qwen, T: 16 }, 1 << 24) as DecodeSplit;
    expect(one).toEqual({ S: 24, CH: 16 }); // 48 partial workgroups of 16 keys, not 12 walking 384
    expect(sixteen).toEqual({ S: 8, CH: 48 }); // 256 workgroups
    expect(planSplit({ ...qwen, T: 16 }, splitScratch({ ...qwen, T: 16 }, 3))).toEqual({ S: 3, CH: 128 });
    expect(planSplit({ ...qwen, T: 16 }, splitScratch({ ...qwen, T: 16 }, 1) - 1)).toBeNull();
    expect(planSplit({ ...qwen, T: 33 }, 1 << 24)).toBeNull(); // prefill and training: attention.wgsl
    expect(planSplit({ ...qwen, H: 18, K: 2, T: 1 }, 1 << 24)).toBeNull(); // G = 9
    expect(planSplit({ ...qwen, D: 12 * 25 + 2, T: 1 }, 1 << 24)).toBeNull();
    expect(planSplit({ ...qwen, L: 5, T: 1 }, 1 << 24)).toEqual({ S: 1, CH: 5 });
    expect(planSplit({ ...qwen, T: 1 }, 1 << 24, undefined, TARGET_WORKGROUPS.software)).toEqual({ S: 1, CH: 384 });
  });
});
