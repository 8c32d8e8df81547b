// Causal GQA attention vs the naive reference: prefill (one slot, all positions), decode (several
// slots, one query each at different lengths), keys past one block, and Qwen2.5-1.5B head shapes.
import { describe, it } from 'vitest';
import { AttentionKernel } from '../../src/kernels/attention';
import { attentionRef } from '../../src/reference/attention';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { name: string; H: number; K: number; D: number; B: number; L: number; slot: number[]; pos: number[] }

const prefill = (n: number) => ({ slot: Array(n).fill(0), pos: Array.from({ length: n }, (_, i) => i) });
const CASES: Case[] = [
  { name: 'prefill T=7 odd D=12 H=4 K=2', H: 4, K: 2, D: 12, B: 1, L: 8, ...prefill(7) },
  { name: 'decode 3 slots, lengths 1/70/130 (>2 key blocks)', H: 4, K: 1, D: 16, B: 3, L: 140, slot: [0, 1, 2], pos: [0, 69, 129] },
  { name: 'training layout 2 sequences × 5 tokens', H: 2, K: 2, D: 8, B: 2, L: 5, slot: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], pos: [0, 1, 2, 3, 4, 0, 1, 2, 3, 4] },
  { name: 'Qwen H=12 K=2 D=128 decode G=3 at pos 20', H: 12, K: 2, D: 128, B: 3, L: 24, slot: [0, 1, 2], pos: [20, 20, 20] },
];

describe('attention', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const T = c.slot.length;
      const qkv = normal(T + c.D, T * (c.H + 2 * c.K) * c.D);
      const kc = normal(5, c.B * c.L * c.K * c.D);
      const vc = normal(6, c.B * c.L * c.K * c.D);
      const slot = Int32Array.from(c.slot);
      const pos = Int32Array.from(c.pos);
      const k = await AttentionKernel.create(ctx);
      const b = {
        qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc), vc: ctx.memory.upload('vc', vc),
        slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos),
        out: poisoned(ctx, T * c.H * c.D), lse: poisoned(ctx, T * c.H),
      };
      const out = await runAndRead(ctx, b.out, (rec) => k.encode(rec, { T, H: c.H, K: c.K, D: c.D, L: c.L }, b));
      const lse = await runAndRead(ctx, b.lse, () => {});
      const ref = attentionRef(qkv, kc, vc, slot, pos, T, c.H, c.K, c.D, c.L);
      expectClose(out, ref.out, 1e-5, `${c.name} out`);
      expectClose(lse, ref.lse, 1e-5, `${c.name} lse`);
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }
});
