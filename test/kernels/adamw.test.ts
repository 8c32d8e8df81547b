// AdamW kernel (with grad_norm's clip scale read on the GPU) vs the reference fixture's one clipped
// AdamW step over every adapter tensor, and vs the f64 reference over several steps (bias correction)
// with and without clipping; plus the grad-zeroing entry and an explicit scale buffer.
import { afterAll, describe, expect, it } from 'vitest';
import { AdamWKernel, adamwConstants, type AdamWUpdate } from '../../src/kernels/adamw';
import { GRAD_NORM_OUT, GradNormKernel } from '../../src/kernels/grad_norm';
import { adamwUpdateRef, gradNormRef } from '../../src/reference/adamw_step';
import { readF32, writeView } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { expectClose } from '../helpers/compare';
import { listReferenceFixtures, loadReferenceFixture, tensor } from '../helpers/fixtures';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('adamw worst relative errors', worst); });

describe('adamw vs reference fixtures (grad_norm + clip + AdamW on the GPU, no readback between)', () => {
  for (const name of listReferenceFixtures()) {
    it(`${name}: one step on the ratio1.grpo grads equals adamw.* (rel ≤ 1e-6 per tensor)`, async () => {
      const ctx = await testGpu();
      const fx = loadReferenceFixture(name);
      const h = fx.cases.adamw;
      const keys = fx.cases.adapter_keys;
      const f32 = (map: typeof fx.tensors, k: string) => Float32Array.from(tensor(map, k).data);
      const params = keys.map((k) => ctx.memory.upload(k, f32(fx.adapterTensors, k)));
      const grads = keys.map((k) => ctx.memory.upload(`g.${k}`, f32(fx.tensors, `grad.ratio1.grpo.${k}`)));
      const ns = keys.map((k) => tensor(fx.adapterTensors, k).data.length);
      const ms = ns.map((n) => ctx.memory.create('m', n * 4));
      const vs = ns.map((n) => ctx.memory.create('v', n * 4));
      const partial = ctx.memory.create('partial', GradNormKernel.partialSize(ns) * 4);
      const norm = ctx.memory.create('norm', GRAD_NORM_OUT.floats * 4);
      const [gn, aw] = await Promise.all([GradNormKernel.create(ctx), AdamWKernel.create(ctx)]);
      const u: AdamWUpdate = { lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weight_decay, step: 1 };
      const out = await runAndRead(ctx, norm, (rec) => {
        ms.forEach((m, i) => aw.encodeZero(rec, m, ns[i])); // fresh buffers are zero already; exercise the entry anyway
        vs.forEach((v, i) => aw.encodeZero(rec, v, ns[i]));
        gn.encode(rec, grads.map((g, i) => ({ buffer: g, n: ns[i] })), partial, norm, h.max_grad_norm);
        keys.forEach((_, i) => aw.encode(rec, { param: params[i], grad: grads[i], m: ms[i], v: vs[i], scale: norm }, ns[i], u));
      });
      worst[`${name} norm`] = rel(out[GRAD_NORM_OUT.norm], fx.cases.cases['ratio1.grpo'].grad_norm);
      expect(worst[`${name} norm`]).toBeLessThanOrEqual(1e-6);
      if (typeof h.clip_scale === 'number') expect(rel(out[GRAD_NORM_OUT.scale], h.clip_scale)).toBeLessThanOrEqual(1e-6);
      let w = 0;
      for (const [i, k] of keys.entries()) {
        const got = await readF32(ctx.device, params[i]);
        w = Math.max(w, expectClose(got, f32(fx.tensors, `adamw.${k}`), 1e-6, k).rel);
      }
      worst[`${name} params`] = w;
      [...params, ...grads, ...ms, ...vs, partial, norm].forEach((b) => ctx.memory.destroy(b));
    });
  }
});

describe('adamw vs reference over several steps', () => {
  const sizes = [1, 13, 300, 70_000]; // the last spans > 256 workgroups
  for (const maxNorm of [0, 1e9, 0.05]) {
    it(`4 steps, ${sizes.length} tensors, clipping ${maxNorm === 0 ? 'off' : `at ${maxNorm}`}`, async () => {
      const ctx = await testGpu();
      const [gn, aw] = await Promise.all([GradNormKernel.create(ctx), AdamWKernel.create(ctx)]);
      const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
      let p: Float64Array[] = sizes.map((n, i) => Float64Array.from(normal(10 + i, n, 0.2)));
      let m: Float64Array[] = sizes.map((n) => new Float64Array(n));
      let v: Float64Array[] = sizes.map((n) => new Float64Array(n));
      const pb = p.map((x) => ctx.memory.upload('p', Float32Array.from(x)));
      const gb = sizes.map((n) => ctx.memory.create('g', n * 4));
      const mb = sizes.map((n) => ctx.memory.create('m', n * 4));
      const vb = sizes.map((n) => ctx.memory.create('v', n * 4));
      const partial = ctx.memory.create('partial', GradNormKernel.partialSize(sizes) * 4);
      const norm = ctx.memory.create('norm', 16);
      for (let t = 1; t <= 4; t++) {
        const g = sizes.map((n, i) => normal(1000 * t + i, n, 0.01 * t));
        g.forEach((x, i) => writeView(ctx.device, gb[i], 0, x));
        const out = await runAndRead(ctx, norm, (rec) => {
          gn.encode(rec, gb.map((b, i) => ({ buffer: b, n: sizes[i] })), partial, norm, maxNorm);
          sizes.forEach((n, i) => aw.encode(rec, { param: pb[i], grad: gb[i], m: mb[i], v: vb[i], scale: norm }, n, { ...h, step: t }));
        });
        const clip = gradNormRef(g, maxNorm);
        expect(rel(out[2], clip.scale)).toBeLessThanOrEqual(1e-6);
        if (maxNorm === 0.05) expect(clip.scale).toBeLessThan(1);
        const next = sizes.map((_, i) => adamwUpdateRef(p[i], g[i], m[i], v[i], { ...h, step: t, gradScale: clip.scale }));
        p = next.map((x) => x.p);
        m = next.map((x) => x.m);
        v = next.map((x) => x.v);
        const key = `4 steps, clipping ${maxNorm} (p, m, v)`;
        for (let i = 0; i < sizes.length; i++) {
          const tag = `clip ${maxNorm} step ${t} tensor ${i}`;
          const errs = [
            expectClose(await readF32(ctx.device, pb[i]), p[i], 1e-6, `${tag} p`).rel,
            expectClose(await readF32(ctx.device, mb[i]), m[i], 1e-6, `${tag} m`).rel,
            expectClose(await readF32(ctx.device, vb[i]), v[i], 1e-6, `${tag} v`).rel,
          ];
          worst[key] = Math.max(worst[key] ?? 0, ...errs);
        }
        // keep the GPU's f32 state as the next step's input, so errors do not compound across steps
        p = await Promise.all(pb.map(async (b) => Float64Array.from(await readF32(ctx.device, b))));
        m = await Promise.all(mb.map(async (b) => Float64Array.from(await readF32(ctx.device, b))));
        v = await Promise.all(vb.map(async (b) => Float64Array.from(await readF32(ctx.device, b))));
      }
      [...pb, ...gb, ...mb, ...vb, partial, norm].forEach((b) => ctx.memory.destroy(b));
    });
  }

  it('takes the scale from any buffer index (scaleAt) and zeroes a gradient', async () => {
    const ctx = await testGpu();
    const aw = await AdamWKernel.create(ctx);
    const n = 777;
    const p0 = normal(1, n);
    const g = normal(2, n);
    const [pb, gb, mb, vb] = [p0, g, new Float32Array(n), new Float32Array(n)].map((x) => ctx.memory.upload('x', x));
    const sb = ctx.memory.upload('scale', new Float32Array([0.25]));
    const h = { lr: 1e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0, step: 1 };
    const got = await runAndRead(ctx, pb, (rec) => aw.encode(rec, { param: pb, grad: gb, m: mb, v: vb, scale: sb }, n, h, 0));
    expectClose(got, adamwUpdateRef(p0, g, new Float32Array(n), new Float32Array(n), { ...h, gradScale: 0.25 }).p, 1e-6, 'scaleAt 0');
    expectClose(await readF32(ctx.device, gb), g, 0, 'grad untouched by the update');
    const zeroed = await runAndRead(ctx, gb, (rec) => aw.encodeZero(rec, gb, n - 1));
    expect(zeroed.subarray(0, n - 1).every((x) => x === 0)).toBe(true);
    expect(zeroed[n - 1]).toBe(g[n - 1]); // only n − 1 elements asked for
    [pb, gb, mb, vb, sb].forEach((b) => ctx.memory.destroy(b));
  });

  it('rejects a step < 1 or bad hyperparameters before encoding anything', async () => {
    const ctx = await testGpu();
    const aw = await AdamWKernel.create(ctx);
    const rec = new Recorder(ctx, 'test');
    const b = ctx.memory.create('x', 16);
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 };
    expect(() => aw.encode(rec, { param: b, grad: b, m: b, v: b, scale: b }, 4, { ...h, step: 0 })).toThrow(/step 0/);
    expect(() => adamwConstants({ ...h, beta2: 1, step: 1 })).toThrow(/beta2 1/);
    expect(rec.dispatches).toBe(0);
    const c = adamwConstants({ ...h, step: 2 });
    expect(c.stepSize).toBeCloseTo(1e-3 / (1 - 0.81), 15);
    expect(c.sqrtBc2).toBeCloseTo(Math.sqrt(1 - 0.99 ** 2), 15);
    ctx.memory.destroy(b);
  });
});
