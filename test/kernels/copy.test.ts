// Copy kernel vs reference, including lengths that leave a partial last workgroup.
import { describe, it } from 'vitest';
import { CopyKernel } from '../../src/kernels/copy';
import { copyRef } from '../../src/reference/copy';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

describe('copy', () => {
  for (const n of [4, 4 * 1027, 4 * 256 * 4 * 300 + 8]) {
    it(`n=${n}`, async () => {
      const ctx = await testGpu();
      const src = normal(n, n);
      const k = await CopyKernel.create(ctx);
      const a = ctx.memory.upload('src', src);
      const b = poisoned(ctx, n);
      const out = await runAndRead(ctx, b, (rec) => k.encode(rec, a, b, n));
      expectClose(out, copyRef(src), 0, `copy ${n}`);
      ctx.memory.destroy(a);
      ctx.memory.destroy(b);
    });
  }
});
