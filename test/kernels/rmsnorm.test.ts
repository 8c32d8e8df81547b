// RMSNorm kernel vs the naive CPU reference: odd shapes and Qwen2.5-1.5B's hidden size, with the subgroup and the halving-tree workgroup sum.
import { describe, it } from 'vitest';
import { RmsNormKernel } from '../../src/kernels/rmsnorm';
import { rmsnormRef } from '../../src/reference/rmsnorm';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal, uniform } from '../helpers/random';

const SHAPES: Array<[string, number, number]> = [
  ['odd T=7 C=160', 7, 160],
  ['one row C=1', 1, 1],
  ['C not a multiple of 256: T=3 C=300', 3, 300],
  ['Qwen2.5-1.5B hidden: T=5 C=1536', 5, 1536],
];

describe('rmsnorm', () => {
  for (const [name, T, C] of SHAPES) for (const subgroups of [true, false]) {
    it(`${name}${subgroups ? '' : ' (halving tree, no subgroups)'}`, async () => {
      const ctx = await testGpu();
      const x = normal(T * 31 + C, T * C, 2);
      const w = uniform(C, C, 0.5, 1.5);
      const eps = 1e-6;
      const k = await RmsNormKernel.create(ctx, { subgroups });
      const xb = ctx.memory.upload('x', x);
      const wb = ctx.memory.upload('w', w);
      const yb = poisoned(ctx, T * C);
      const y = await runAndRead(ctx, yb, (rec) => k.encode(rec, xb, wb, yb, T, C, eps));
      expectClose(y, rmsnormRef(x, w, T, C, eps), 1e-6, name);
      [xb, wb, yb].forEach((b) => ctx.memory.destroy(b));
    });
  }
});
