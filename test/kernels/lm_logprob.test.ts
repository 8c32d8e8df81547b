// Chunked LM-head log-probs (online log-sum-exp) and their backward vs the full-logits reference,
// with a vocabulary that is not a multiple of the chunk, a split head, and vs tf.grad.
import { describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { LmLogprobKernel } from '../../src/kernels/lm_logprob';
import { MatmulKernel, uploadWeight, destroyWeight } from '../../src/kernels/matmul';
import { lmLogprobBackwardRef, lmLogprobRef } from '../../src/reference/lm_logprob';
import { dequantizeWeight, packWeight, type WeightFormat } from '../../src/formats/weights';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

const CASES: Array<[string, number, number, number, WeightFormat, number, boolean]> = [
  // name, M, C, V, format, chunk, split head
  ['bf16 V=1000 chunk 256 (4 chunks, last partial)', 7, 64, 1000, 'bf16', 256, false],
  ['i8 V=333 chunk 128, head split in 64-row parts', 5, 32, 333, 'i8', 128, true],
  ['bf16 one chunk covers V', 3, 16, 100, 'bf16', 128, false],
];

describe('lm_logprob', () => {
  for (const [name, M, C, V, format, chunk, split] of CASES) {
    it(name, async () => {
      const ctx = await testGpu();
      const T = 0.9;
      const hidden = normal(M * C, M * C);
      const host = packWeight(format, normal(V * C, V * C, 0.3), V, C);
      const E = dequantizeWeight(host);
      const targets = Int32Array.from({ length: M }, (_, m) => (m * 37 + 11) % V);
      const dlogp = normal(5, M);
      const head = uploadWeight(ctx, host, 'head', undefined, split ? 64 * (format === 'i8' ? C : 2 * C) : undefined);
      const kernel = await LmLogprobKernel.create(ctx, await MatmulKernel.create(ctx), chunk);
      const b = {
        hidden: ctx.memory.upload('h', hidden), targets: ctx.memory.upload('t', targets),
        logp: poisoned(ctx, M), lse: poisoned(ctx, M), entropy: poisoned(ctx, M),
        dlogp: ctx.memory.upload('dlogp', dlogp), dhidden: poisoned(ctx, M * C),
      };
      const ref = lmLogprobRef(hidden, E, targets, M, C, V, T);
      const logp = await runAndRead(ctx, b.logp, (rec) => kernel.encode(rec, head, M, T, b));
      expectClose(logp, ref.logp, 1e-5, 'logp');
      expectClose(await runAndRead(ctx, b.lse, () => {}), ref.lse, 1e-6, 'lse');
      expectClose(await runAndRead(ctx, b.entropy, () => {}), ref.entropy, 1e-5, 'entropy');
      const dh = await runAndRead(ctx, b.dhidden, (rec) => kernel.encodeBackward(rec, head, M, T, b));
      expectClose(dh, lmLogprobBackwardRef(ref.probs, E, targets, dlogp, M, C, V, T), 1e-5, 'dhidden');
      kernel.destroy();
      destroyWeight(ctx, head);
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }

  it('backward equals tf.grad of Σ dlogp · logp', async () => {
    await tf.setBackend('cpu');
    const ctx = await testGpu();
    const [M, C, V, T] = [4, 16, 200, 0.7];
    const hidden = normal(1, M * C);
    const host = packWeight('bf16', normal(2, V * C, 0.3), V, C);
    const targets = Int32Array.from([3, 150, 0, 199]);
    const dlogp = normal(3, M);
    const E = tf.tensor2d(dequantizeWeight(host), [V, C]);
    const g = tf.grad((h: tf.Tensor) => {
      const z = tf.div(tf.matMul(h as tf.Tensor2D, E, false, true), T);
      const lp = tf.sub(z, tf.logSumExp(z, 1, true));
      const picked = tf.sum(tf.mul(lp, tf.oneHot(tf.tensor1d(targets, 'int32'), V)), 1);
      return tf.sum(tf.mul(picked, tf.tensor1d(dlogp)));
    })(tf.tensor2d(hidden, [M, C]));
    const head = uploadWeight(ctx, host, 'head');
    const kernel = await LmLogprobKernel.create(ctx, await MatmulKernel.create(ctx), 64);
    const b = {
      hidden: ctx.memory.upload('h', hidden), targets: ctx.memory.upload('t', targets), lse: ctx.memory.create('lse', M * 4),
      logp: ctx.memory.create('lp', M * 4), entropy: ctx.memory.create('e', M * 4), dlogp: ctx.memory.upload('d', dlogp), dhidden: poisoned(ctx, M * C),
    };
    const dh = await runAndRead(ctx, b.dhidden, (rec) => { kernel.encode(rec, head, M, T, b); kernel.encodeBackward(rec, head, M, T, b); });
    expectClose(dh, await g.data(), 1e-5, 'vs tf.grad');
  });
});
