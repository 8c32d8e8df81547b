// Elementwise add kernel (y = a + alpha·b, and y += alpha·b in place) vs the naive CPU reference:
// odd sizes, a Qwen residual stream, and a size past 65,535 workgroups (2-D grid).
import { afterAll, describe, it } from 'vitest';
import { AddKernel } from '../../src/kernels/add';
import { addRef } from '../../src/reference/add';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

const SIZES: Array<[string, number, number]> = [
  ['odd T=7 C=160', 7 * 160, 1],
  ['one element', 1, 1],
  ['alpha = -0.5, n = 1001', 1001, -0.5],
  ['Qwen2.5-1.5B residual T=5 C=1536', 5 * 1536, 1],
  ['2-D grid: n = 65536·256 + 3', 65536 * 256 + 3, 2],
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('add worst relative errors', worst); });

describe('add', () => {
  for (const [name, n, alpha] of SIZES) {
    it(name, async () => {
      const ctx = await testGpu();
      const k = await AddKernel.create(ctx);
      const a = normal(n % 1000 + 1, n);
      const b = normal(n % 1000 + 2, n);
      const want = addRef(a, b, alpha);
      const ab = ctx.memory.upload('a', a);
      const bb = ctx.memory.upload('b', b);
      const yb = poisoned(ctx, n);
      const y = await runAndRead(ctx, yb, (rec) => k.encode(rec, ab, bb, yb, n, alpha));
      worst[name] = expectClose(y, want, 1e-6, name).rel;
      // in place: a += alpha·b
      const a2 = await runAndRead(ctx, ab, (rec) => k.encodeInPlace(rec, ab, bb, n, alpha));
      worst[`${name} in place`] = expectClose(a2, want, 1e-6, `${name} in place`).rel;
      [ab, bb, yb].forEach((x) => ctx.memory.destroy(x));
    });
  }
});
