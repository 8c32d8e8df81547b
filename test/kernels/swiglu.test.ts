// SwiGLU kernels vs the naive CPU reference (forward and backward) and, for the backward, vs
// tf.grads of the forward written in tf ops: odd shapes, large |gate| (σ without overflow) and
// Qwen2.5-1.5B's intermediate size.
import { afterAll, describe, it } from 'vitest';
import { SwigluKernel } from '../../src/kernels/swiglu';
import { swigluBackwardRef, swigluRef } from '../../src/reference/swiglu';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { tfCpu, type Tensor } from '../helpers/tf';

const SHAPES: Array<[string, number, number, number]> = [
  ['odd T=7 I=160', 7, 160, 2],
  ['one element T=1 I=1', 1, 1, 1],
  ['large |gate| T=3 I=300 (std 40)', 3, 300, 40],
  ['Qwen2.5-1.5B T=3 I=8960', 3, 8960, 2],
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('swiglu worst relative errors', worst); });

/** d(gate), d(up) [T, I] each by tf.grads of h = g·σ(g)·u, interleaved back into [T, 2I] */
async function tfBackward(gu: Float32Array, dh: Float32Array, T: number, I: number): Promise<Float32Array> {
  const tf = await tfCpu();
  const [dg, du] = tf.tidy(() => {
    const both = tf.tensor2d(gu, [T, 2 * I]);
    const g = both.slice([0, 0], [T, I]);
    const u = both.slice([0, I], [T, I]);
    const f = (gt: Tensor, ut: Tensor) => gt.mul(tf.sigmoid(gt)).mul(ut);
    const grads = tf.grads((...a: Tensor[]) => f(a[0], a[1]))([g, u], tf.tensor2d(dh, [T, I]));
    return grads.map((t) => t.dataSync() as Float32Array);
  });
  const out = new Float32Array(T * 2 * I);
  for (let t = 0; t < T; t++) {
    out.set(dg.subarray(t * I, (t + 1) * I), t * 2 * I);
    out.set(du.subarray(t * I, (t + 1) * I), t * 2 * I + I);
  }
  return out;
}

describe('swiglu', () => {
  for (const [name, T, I, std] of SHAPES) {
    it(`forward ${name}`, async () => {
      const ctx = await testGpu();
      const k = await SwigluKernel.create(ctx);
      const gu = normal(T * 13 + I, T * 2 * I, std);
      const gub = ctx.memory.upload('gu', gu);
      const hb = poisoned(ctx, T * I);
      const h = await runAndRead(ctx, hb, (rec) => k.encode(rec, gub, hb, T, I));
      worst[`forward ${name}`] = expectClose(h, swigluRef(gu, T, I), 1e-5, name).rel;
      [gub, hb].forEach((b) => ctx.memory.destroy(b));
    });

    it(`backward ${name} (reference and tf.grads)`, async () => {
      const ctx = await testGpu();
      const k = await SwigluKernel.create(ctx);
      const gu = normal(T * 17 + I, T * 2 * I, std);
      const dh = normal(T * 19 + I, T * I);
      const gub = ctx.memory.upload('gu', gu);
      const dhb = ctx.memory.upload('dh', dh);
      const dgub = poisoned(ctx, T * 2 * I);
      const dgu = await runAndRead(ctx, dgub, (rec) => k.encodeBackward(rec, gub, dhb, dgub, T, I));
      worst[`backward ${name} vs ref`] = expectClose(dgu, swigluBackwardRef(gu, dh, T, I), 1e-5, `${name} vs reference`).rel;
      worst[`backward ${name} vs tf`] = expectClose(dgu, await tfBackward(gu, dh, T, I), 1e-5, `${name} vs tf.grads`).rel;
      [gub, dhb, dgub].forEach((b) => ctx.memory.destroy(b));
    });
  }
});
