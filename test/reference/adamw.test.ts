// Grad-norm clipping and AdamW reference (src/reference/adamw.ts) against every reference-* fixture:
// the adapter as parameters, the ratio1.grpo LoRA gradients, one clipped AdamW step (torch semantics).
import { describe, expect, it } from 'vitest';
import { adamwStep, clipGradNorm, globalNorm, initAdamWState, OptimizerError } from '../../src/reference/adamw';
import { listReferenceFixtures, loadReferenceFixture, floats } from '../helpers/fixtures';
import { expectClose } from '../helpers/compare';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('clipGradNorm + adamwStep vs reference fixtures', () => {
  for (const name of listReferenceFixtures()) {
    const fx = loadReferenceFixture(name);
    const keys = fx.cases.adapter_keys;

    for (const [caseKey, want] of Object.entries(fx.cases.cases)) {
      it(`${name} ${caseKey}: global grad norm`, () => {
        const grads = keys.map((k) => floats(fx.tensors, `grad.${caseKey}.${k}`));
        expect(rel(globalNorm(grads), want.grad_norm)).toBeLessThanOrEqual(1e-6);
      });
    }

    it(`${name}: one AdamW step on clipped ratio1.grpo grads equals adamw.* (rel ≤ 1e-6 per tensor)`, () => {
      const h = fx.cases.adamw;
      const params = keys.map((k) => floats(fx.adapterTensors, k));
      const grads = keys.map((k) => floats(fx.tensors, `grad.ratio1.grpo.${k}`));
      const clip = clipGradNorm(grads, h.max_grad_norm);
      expect(rel(clip.totalNorm, fx.cases.cases['ratio1.grpo'].grad_norm)).toBeLessThanOrEqual(1e-6);
      if (typeof h.clip_scale === 'number') expect(rel(clip.scale, h.clip_scale)).toBeLessThanOrEqual(1e-6);
      const state = initAdamWState(params.map((p) => p.length));
      const out = adamwStep(params, clip.grads, state, {
        lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weight_decay,
      });
      keys.forEach((k, i) => expectClose(out.params[i], floats(fx.tensors, `adamw.${k}`), 1e-6, k));
      expect(out.state.step).toBe(1);
      expect(state.step).toBe(0); // pure: the input state is untouched
    });
  }
});

describe('clipGradNorm', () => {
  it('leaves gradients alone (scale 1) under the limit and reports the norm', () => {
    const r = clipGradNorm([[3], [4]], 10);
    expect(r.totalNorm).toBe(5);
    expect(r.scale).toBe(1);
    expect([...r.grads[0], ...r.grads[1]]).toEqual([3, 4]);
  });
  it('scales by maxNorm / (norm + 1e-6) over the limit, without touching its input', () => {
    const g = [new Float32Array([3, 4])];
    const r = clipGradNorm(g, 1);
    expect(r.scale).toBeCloseTo(1 / (5 + 1e-6), 15);
    expect(r.grads[0][1]).toBeCloseTo(4 / (5 + 1e-6), 15);
    expect(g[0][1]).toBe(4);
  });
  it('rejects maxNorm ≤ 0 with a hint', () => {
    expect(() => clipGradNorm([[1]], 0)).toThrow(OptimizerError);
  });
});

describe('adamwStep', () => {
  const h = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5 };

  it('two steps on a scalar match the formula worked by hand', () => {
    let state = initAdamWState([1]);
    let p: ArrayLike<number>[] = [[1]];
    const gs = [0.5, -0.25];
    let m = 0, v = 0, x = 1;
    for (let t = 1; t <= 2; t++) {
      const g = gs[t - 1];
      x *= 1 - h.lr * h.weightDecay;
      m = 0.9 * m + 0.1 * g;
      v = 0.99 * v + 0.01 * g * g;
      x -= h.lr * (m / (1 - 0.9 ** t)) / (Math.sqrt(v / (1 - 0.99 ** t)) + h.eps);
      const out = adamwStep(p, [[g]], state, h);
      p = out.params;
      state = out.state;
      expect(p[0][0]).toBeCloseTo(x, 14);
    }
    expect(state.step).toBe(2);
  });

  it('zero gradient: only the decoupled weight decay moves the weight', () => {
    const out = adamwStep([[2]], [[0]], initAdamWState([1]), h);
    expect(out.params[0][0]).toBeCloseTo(2 * (1 - 0.05), 15);
  });

  it('rejects mismatched tensors and bad hyperparameters with the numbers', () => {
    expect(() => adamwStep([[1, 2]], [[1]], initAdamWState([2]), h)).toThrow(/2 params but 1 grads/);
    expect(() => adamwStep([[1]], [[1]], initAdamWState([1]), { ...h, beta2: 1 })).toThrow(/beta2 1/);
    expect(() => adamwStep([[1]], [], initAdamWState([1]), h)).toThrow(/1 params, 0 grads/);
  });
});
