// Global grad norm + clip scale kernel vs the f64 reference: many odd-sized buffers (one of them past
// the 64-workgroup cap), clipping on and off, sub-ranges of a buffer, and the reference fixture's norm.
import { afterAll, describe, expect, it } from 'vitest';
import { GRAD_NORM_OUT, GradNormKernel } from '../../src/kernels/grad_norm';
import { gradNormRef } from '../../src/reference/adamw_step';
import { listReferenceFixtures, loadReferenceFixture, tensor } from '../helpers/fixtures';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('grad_norm worst relative errors', worst); });

async function gpuNorm(xs: Float32Array[], maxNorm: number, ns = xs.map((x) => x.length)): Promise<Float32Array> {
  const ctx = await testGpu();
  const k = await GradNormKernel.create(ctx);
  const bufs = xs.map((x, i) => ctx.memory.upload(`g${i}`, x));
  const partial = poisoned(ctx, GradNormKernel.partialSize(ns), 'partial');
  const out = poisoned(ctx, GRAD_NORM_OUT.floats, 'norm');
  const r = await runAndRead(ctx, out, (rec) => k.encode(rec, bufs.map((b, i) => ({ buffer: b, n: ns[i] })), partial, out, maxNorm));
  [...bufs, partial, out].forEach((b) => ctx.memory.destroy(b));
  return r;
}

describe('grad_norm', () => {
  const sizes = [1, 7, 160, 255, 256, 257, 1000, 64 * 256 * 8 * 2 + 13]; // the last one hits the 64-workgroup cap
  const xs = sizes.map((n, i) => normal(100 + i, n, 0.01 * (i + 1)));

  for (const maxNorm of [0, 1e9, 0.5]) {
    it(`${sizes.length} buffers of odd sizes, maxNorm ${maxNorm || 'off'}`, async () => {
      const got = await gpuNorm(xs, maxNorm);
      const want = gradNormRef(xs, maxNorm);
      worst[`sumSq maxNorm ${maxNorm}`] = rel(got[0], want.sumSq);
      expect(rel(got[0], want.sumSq)).toBeLessThanOrEqual(1e-6);
      expect(rel(got[1], want.norm)).toBeLessThanOrEqual(1e-6);
      expect(rel(got[2], want.scale)).toBeLessThanOrEqual(1e-6);
      expect(got[3]).toBe(0);
      if (maxNorm !== 0.5) expect(got[2]).toBe(1);
      else expect(got[2]).toBeLessThan(1);
    });
  }

  it('counts only the first n elements of each binding', async () => {
    const got = await gpuNorm(xs.slice(6, 8), 0, [500, 3]);
    const want = gradNormRef([xs[6].subarray(0, 500), xs[7].subarray(0, 3)], 0);
    expect(rel(got[1], want.norm)).toBeLessThanOrEqual(1e-6);
  });

  it('all-zero gradients: norm 0, scale 1', async () => {
    const got = await gpuNorm([new Float32Array(300), new Float32Array(5)], 1);
    expect([...got]).toEqual([0, 0, 1, 0]);
  });

  for (const name of listReferenceFixtures()) {
    it(`${name}: norm and clip scale of every case's LoRA grads`, async () => {
      const fx = loadReferenceFixture(name);
      for (const [key, c] of Object.entries(fx.cases.cases)) {
        const grads = fx.cases.adapter_keys.map((k) => Float32Array.from(tensor(fx.tensors, `grad.${key}.${k}`).data));
        const got = await gpuNorm(grads, fx.cases.adamw.max_grad_norm);
        worst[`${name} ${key} norm`] = rel(got[1], c.grad_norm);
        expect(rel(got[1], c.grad_norm), `${key} norm ${got[1]} vs ${c.grad_norm}`).toBeLessThanOrEqual(1e-6);
        if (key === 'ratio1.grpo' && typeof fx.cases.adamw.clip_scale === 'number') {
          expect(rel(got[2], fx.cases.adamw.clip_scale)).toBeLessThanOrEqual(1e-6);
        }
      }
    });
  }
});
