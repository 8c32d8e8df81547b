// RMSNorm backward kernel (dx, overwrite and accumulate) vs the naive CPU Jacobian reference and
// vs tf.grad of the forward written in tf ops: odd shapes and Qwen2.5-1.5B's hidden size.
import { afterAll, describe, it } from 'vitest';
import { RmsNormBackwardKernel } from '../../src/kernels/rmsnorm_backward';
import { rmsnormBackwardRef } from '../../src/reference/rmsnorm_backward';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal, uniform } from '../helpers/random';
import { tfCpu, type Tensor } from '../helpers/tf';

// eps is large for C=1: there dx = r·w·dy·eps/(x² + eps), a cancellation no f32 formula avoids.
const SHAPES: Array<[string, number, number, number]> = [
  ['odd T=7 C=160', 7, 160, 1e-6],
  ['one row C=1', 1, 1, 0.5],
  ['C not a multiple of 256: T=3 C=300', 3, 300, 1e-6],
  ['Qwen2.5-1.5B hidden: T=4 C=1536', 4, 1536, 1e-6],
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('rmsnorm_backward worst relative errors', worst); });

/** dx [T, C] = tf.grad of y = x · rsqrt(mean(x²) + eps) · w, applied to dy */
async function tfBackward(x: Float32Array, w: Float32Array, dy: Float32Array, T: number, C: number, eps: number): Promise<Float32Array> {
  const tf = await tfCpu();
  return tf.tidy(() => {
    const wt = tf.tensor1d(w);
    const f = (xt: Tensor) => xt.mul(tf.rsqrt(xt.square().mean(-1, true).add(eps))).mul(wt);
    return tf.grad(f)(tf.tensor2d(x, [T, C]), tf.tensor2d(dy, [T, C])).dataSync() as Float32Array;
  });
}

describe('rmsnorm_backward', () => {
  for (const [name, T, C, eps] of SHAPES) {
    it(`${name} (reference and tf.grad)`, async () => {
      const ctx = await testGpu();
      const k = await RmsNormBackwardKernel.create(ctx);
      const x = normal(T * 31 + C, T * C, 2);
      const w = uniform(C + 1, C, 0.5, 1.5);
      const dy = normal(T * 7 + C, T * C);
      const [xb, wb, dyb] = [ctx.memory.upload('x', x), ctx.memory.upload('w', w), ctx.memory.upload('dy', dy)];
      const dxb = poisoned(ctx, T * C);
      const dx = await runAndRead(ctx, dxb, (rec) => k.encode(rec, xb, wb, dyb, dxb, T, C, eps));
      worst[`${name} vs ref`] = expectClose(dx, rmsnormBackwardRef(x, w, dy, T, C, eps), 1e-5, `${name} vs reference`).rel;
      worst[`${name} vs tf`] = expectClose(dx, await tfBackward(x, w, dy, T, C, eps), 1e-5, `${name} vs tf.grad`).rel;
      [xb, wb, dyb, dxb].forEach((b) => ctx.memory.destroy(b));
    });

    it(`${name} accumulate into dx`, async () => {
      const ctx = await testGpu();
      const k = await RmsNormBackwardKernel.create(ctx);
      const x = normal(T * 3 + C, T * C);
      const w = uniform(C + 2, C, 0.5, 1.5);
      const dy = normal(T * 5 + C, T * C);
      const dxIn = normal(T * 11 + C, T * C);
      const [xb, wb, dyb, dxb] = [ctx.memory.upload('x', x), ctx.memory.upload('w', w), ctx.memory.upload('dy', dy), ctx.memory.upload('dx', dxIn)];
      const dx = await runAndRead(ctx, dxb, (rec) => k.encode(rec, xb, wb, dyb, dxb, T, C, eps, true));
      worst[`${name} accumulate`] = expectClose(dx, rmsnormBackwardRef(x, w, dy, T, C, eps, dxIn), 1e-5, `${name} accumulate`).rel;
      [xb, wb, dyb, dxb].forEach((b) => ctx.memory.destroy(b));
    });
  }

});
