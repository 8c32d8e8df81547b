// GRPO loss head reference (src/reference/grpo_loss.ts): loss, kl_mean and clip_ratio against every
// reference-* fixture (TRL in float64), dLoss/dlogp against central finite differences (float64) and
// against tfjs autodiff of the same loss written with tf ops (float32), plus the clip/tie rules.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { grpoLossReference, GrpoLossError, LOSS_TYPES, type GrpoLossInputs, type GrpoLossParams, type LossType } from '../../src/reference/grpo_loss';
import { computeAdvantages } from '../../src/grpo/advantages';
import { listReferenceFixtures, loadReferenceFixture, floats, tensor, type ReferenceFixture } from '../helpers/fixtures';
import { rng } from '../helpers/random';

/** Inputs and params of fixture case `{case}.{variant}` (case ratio1: old = logp detached). */
function fixtureCase(fx: ReferenceFixture, key: string): { x: GrpoLossInputs; p: GrpoLossParams } {
  const [kase, variant] = key.split('.');
  const shape = tensor(fx.tensors, 'logprobs').shape;
  const [B, T] = [shape[0], shape[1]];
  const rewards = floats(fx.tensors, 'rewards');
  // Advantages recomputed in float64 from the rewards, as the fixture generator did: the stored f32
  // advantages are rounded by ~6e-8, which in ratio1.grpo (policy term sums to ~0) shifts the loss 5e-6.
  const G = typeof fx.cases.num_generations === 'number' ? fx.cases.num_generations : rewards.length;
  const advantages = computeAdvantages(rewards, G, 'group').advantages;
  const x: GrpoLossInputs = {
    B, T, advantages,
    logp: floats(fx.tensors, 'logprobs'),
    oldLogp: kase === 'ratio1' ? null : floats(fx.tensors, `old_logprobs_${kase}`),
    refLogp: floats(fx.tensors, 'ref_logprobs'),
    mask: floats(fx.tensors, 'completion_mask'),
  };
  const c = fx.cases;
  const p: GrpoLossParams = {
    beta: c.beta, epsilonLow: c.epsilon_low, epsilonHigh: c.epsilon_high,
    lossType: variant as LossType, maxCompletionLength: c.max_completion_length,
  };
  return { x, p };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('grpoLossReference vs reference fixtures (TRL, float64)', () => {
  for (const name of listReferenceFixtures()) {
    const fx = loadReferenceFixture(name);
    for (const [key, want] of Object.entries(fx.cases.cases)) {
      it(`${name} ${key}: loss, kl_mean, clip_ratio within 1e-5`, () => {
        const { x, p } = fixtureCase(fx, key);
        const r = grpoLossReference(x, p);
        expect(rel(r.loss, want.loss), `loss ${r.loss} vs ${want.loss}`).toBeLessThanOrEqual(1e-5);
        expect(rel(r.metrics.klMean ?? NaN, want.kl_mean), `kl ${r.metrics.klMean} vs ${want.kl_mean}`).toBeLessThanOrEqual(1e-5);
        expect(Math.abs(r.metrics.clipRatio - want.clip_ratio)).toBeLessThanOrEqual(1e-12);
      });
    }
    it(`${name}: old = null equals old = a detached copy of logp (ratio 1)`, () => {
      const { x, p } = fixtureCase(fx, 'ratio1.grpo');
      const a = grpoLossReference(x, p);
      const b = grpoLossReference({ ...x, oldLogp: Float64Array.from(x.logp) }, p);
      expect(b.loss).toBe(a.loss);
      expect([...b.dLogp]).toEqual([...a.dLogp]);
    });
    it(`${name}: dapo with activeTokens = all masked tokens equals bnpo (one micro-batch)`, () => {
      const { x, p } = fixtureCase(fx, 'offpolicy.bnpo');
      const active = Array.from(x.mask).reduce((s, v) => s + v, 0);
      const bnpo = grpoLossReference(x, p);
      const dapo = grpoLossReference(x, { ...p, lossType: 'dapo', activeTokens: active });
      expect(rel(dapo.loss, bnpo.loss)).toBeLessThan(1e-14);
    });
  }
});

/** Central differences of the loss w.r.t. each logp (old fixed: a detached copy when null). */
function finiteDiff(x: GrpoLossInputs, p: GrpoLossParams, h = 1e-6): Float64Array {
  const old = x.oldLogp ?? Float64Array.from(x.logp);
  const out = new Float64Array(x.B * x.T);
  for (let i = 0; i < out.length; i++) {
    const up = Float64Array.from(x.logp); up[i] += h;
    const dn = Float64Array.from(x.logp); dn[i] -= h;
    out[i] = (grpoLossReference({ ...x, logp: up, oldLogp: old }, p).loss - grpoLossReference({ ...x, logp: dn, oldLogp: old }, p).loss) / (2 * h);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return { diff, scale };
}

/** Seeded random inputs on odd shapes: ratios spread across the clip bounds, ragged masks. */
function randomCase(seed: number, B = 5, T = 7): GrpoLossInputs {
  const r = rng(seed);
  const logp = Float64Array.from({ length: B * T }, () => -3 * r() - 0.05);
  const oldLogp = Float64Array.from(logp, (v) => v + 0.8 * (r() - 0.5));
  const refLogp = Float64Array.from(logp, (v) => v + 0.6 * (r() - 0.5));
  const advantages = Float64Array.from({ length: B }, () => 2 * r() - 1);
  const mask = new Float64Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = b === B - 1 ? 0 : 1 + Math.floor(r() * T); // last sequence empty: exercises the clamp(min=1)
    for (let t = 0; t < len; t++) mask[b * T + t] = 1;
  }
  return { B, T, logp, oldLogp, refLogp, advantages, mask };
}

describe('dLoss/dlogp vs central finite differences (float64)', () => {
  const fx = loadReferenceFixture(listReferenceFixtures()[0]);
  for (const key of Object.keys(fx.cases.cases)) {
    it(`fixture ${key}`, () => {
      const { x, p } = fixtureCase(fx, key);
      const { diff, scale } = maxAbsDiff(grpoLossReference(x, p).dLogp, finiteDiff(x, p));
      expect(diff / scale).toBeLessThan(1e-7);
    });
  }
  for (const lossType of LOSS_TYPES) {
    it(`random B=5 T=7, ${lossType}, beta 0.1, accumulation 3`, () => {
      const x = randomCase(11);
      const p: GrpoLossParams = { beta: 0.1, epsilonLow: 0.2, epsilonHigh: 0.28, lossType, maxCompletionLength: 9, activeTokens: 40, accumulationSteps: 3 };
      const r = grpoLossReference(x, p);
      expect(r.metrics.clipRatioLow + r.metrics.clipRatioHigh).toBeGreaterThan(0); // the clip region is exercised
      const { diff, scale } = maxAbsDiff(r.dLogp, finiteDiff(x, p));
      expect(diff / scale).toBeLessThan(1e-7);
    });
  }
});

/** The same loss written with tf ops, so tf.grad checks the hand-derived gradient independently. */
function tfLoss(x: GrpoLossInputs, p: GrpoLossParams, logp: tf.Tensor2D): tf.Scalar {
  const { B, T } = x;
  const old = tf.tensor2d(Float32Array.from(x.oldLogp ?? x.logp), [B, T]); // a constant: detached
  const ref = tf.tensor2d(Float32Array.from(x.refLogp ?? x.logp), [B, T]);
  const A = tf.tensor2d(Float32Array.from(x.advantages), [B, 1]);
  const mask = tf.tensor2d(Float32Array.from(x.mask), [B, T]);
  const ratio = tf.exp(tf.sub(logp, old));
  const clipped = tf.clipByValue(ratio, 1 - p.epsilonLow, 1 + p.epsilonHigh);
  const policy = tf.neg(tf.minimum(tf.mul(ratio, A), tf.mul(clipped, A)));
  const d = tf.sub(ref, logp);
  const kl = tf.sub(tf.sub(tf.exp(d), d), 1);
  const masked = tf.mul(tf.add(policy, tf.mul(p.beta, kl)), mask);
  const acc = p.accumulationSteps ?? 1;
  switch (p.lossType) {
    case 'grpo': return tf.div(tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1))), acc);
    case 'bnpo': return tf.div(tf.div(tf.sum(masked), tf.maximum(tf.sum(mask), 1)), acc);
    case 'dr_grpo': return tf.div(tf.sum(masked), B * p.maxCompletionLength * acc);
    case 'dapo': return tf.div(tf.sum(masked), Math.max(p.activeTokens ?? 0, 1));
  }
}

describe('dLoss/dlogp vs tfjs autodiff (float32)', () => {
  const cases: [string, () => { x: GrpoLossInputs; p: GrpoLossParams }][] = [];
  const fx = loadReferenceFixture(listReferenceFixtures()[0]);
  for (const key of Object.keys(fx.cases.cases)) cases.push([`fixture ${key}`, () => fixtureCase(fx, key)]);
  for (const lossType of LOSS_TYPES) {
    cases.push([`random ${lossType}`, () => ({
      x: randomCase(23), p: { beta: 0.04, epsilonLow: 0.2, epsilonHigh: 0.28, lossType, maxCompletionLength: 12, activeTokens: 50, accumulationSteps: 2 },
    })]);
  }
  for (const [label, make] of cases) {
    it(label, async () => {
      await tf.setBackend('cpu');
      const { x, p } = make();
      const ours = grpoLossReference(x, p);
      const logp = tf.tensor2d(Float32Array.from(x.logp), [x.B, x.T]);
      const [loss, grad] = tf.tidy(() => {
        const g = tf.valueAndGrad((l: tf.Tensor) => tfLoss(x, p, l as tf.Tensor2D))(logp);
        return [g.value.dataSync()[0], g.grad.dataSync()];
      }) as unknown as [number, Float32Array];
      logp.dispose();
      expect(rel(loss, ours.loss)).toBeLessThan(1e-4);
      const { diff, scale } = maxAbsDiff(grad, ours.dLogp);
      expect(diff / scale).toBeLessThan(1e-5);
    });
  }
});

describe('clip region and ties', () => {
  const one = (logp: number, old: number, A: number, over: Partial<GrpoLossParams> = {}) =>
    grpoLossReference(
      { B: 1, T: 1, logp: [logp], oldLogp: [old], refLogp: null, advantages: [A], mask: [1] },
      { beta: 0, epsilonLow: 0.2, epsilonHigh: 0.28, lossType: 'bnpo', maxCompletionLength: 1, ...over },
    );

  it('ratio above 1+eps_high with A > 0: the clipped branch wins, gradient 0, counted as high-clipped', () => {
    const r = one(Math.log(1.5), 0, 1);
    expect(r.loss).toBeCloseTo(-1.28, 14);
    expect(r.dLogp[0]).toBe(0);
    expect(r.metrics.clipRatioHigh).toBe(1);
  });

  it('ratio above 1+eps_high with A < 0: the unclipped branch wins, gradient −A·ratio', () => {
    const r = one(Math.log(1.5), 0, -1);
    expect(r.dLogp[0]).toBeCloseTo(1.5, 14);
    expect(r.metrics.clipRatio).toBe(0);
  });

  it('ratio below 1−eps_low with A < 0: gradient 0, counted as low-clipped', () => {
    const r = one(Math.log(0.5), 0, -2);
    expect(r.loss).toBeCloseTo(1.6, 14);
    expect(r.dLogp[0]).toBe(0);
    expect(r.metrics.clipRatioLow).toBe(1);
    expect(r.metrics.clipRatioLowMin).toBe(1);
  });

  it('tie at a clip bound (eps 0, ratio exactly 1): clamp passes gradient on the bound, so −A either way', () => {
    const r = one(-1.25, -1.25, 0.7, { epsilonLow: 0, epsilonHigh: 0 });
    expect(r.dLogp[0]).toBeCloseTo(-0.7, 15);
  });

  it('KL alone: gradient 1 − exp(ref − logp), KL reported even with beta 0 when refLogp is given', () => {
    const x = { B: 1, T: 1, logp: [-1], oldLogp: null, refLogp: [-1.5], advantages: [0], mask: [1] };
    const r = grpoLossReference(x, { beta: 0.5, epsilonLow: 0.2, epsilonHigh: 0.2, lossType: 'grpo', maxCompletionLength: 4 });
    expect(r.dLogp[0]).toBeCloseTo(0.5 * (1 - Math.exp(-0.5)), 15);
    const r0 = grpoLossReference(x, { beta: 0, epsilonLow: 0.2, epsilonHigh: 0.2, lossType: 'grpo', maxCompletionLength: 4 });
    expect(r0.metrics.klMean).toBeCloseTo(Math.exp(-0.5) + 0.5 - 1, 15);
  });
});

describe('input errors', () => {
  const x = randomCase(5, 2, 3);
  const p: GrpoLossParams = { beta: 0.04, epsilonLow: 0.2, epsilonHigh: 0.28, lossType: 'grpo', maxCompletionLength: 3 };
  const err = (f: () => unknown): GrpoLossError => {
    try { f(); } catch (e) { expect(e).toBeInstanceOf(GrpoLossError); return e as GrpoLossError; }
    throw new Error('expected a GrpoLossError');
  };
  it('beta > 0 without reference log-probs says how to fix it', () => {
    expect(err(() => grpoLossReference({ ...x, refLogp: null }, p)).hint).toMatch(/beta = 0/);
  });
  it('dapo without activeTokens, wrong shapes, unknown loss type', () => {
    expect(err(() => grpoLossReference(x, { ...p, lossType: 'dapo' })).message).toMatch(/activeTokens/);
    expect(err(() => grpoLossReference({ ...x, mask: [1, 1] }, p)).message).toMatch(/mask has 2 elements, expected 6/);
    expect(err(() => grpoLossReference(x, { ...p, lossType: 'ppo' as never })).message).toMatch(/unknown loss type 'ppo'/);
  });
  it('beta = 0 needs no reference log-probs', () => {
    expect(grpoLossReference({ ...x, refLogp: null }, { ...p, beta: 0 }).metrics.klMean).toBeNull();
  });
});
