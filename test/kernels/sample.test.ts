// Sampling kernel vs the sorting reference: same tokens (same seeded Gumbel noise) and log-probs for
// greedy, plain temperature, top-k, top-p, min-p and their mix; EOS stops a row; and the empirical
// distribution of plain sampling matches softmax(z) (a chi-square check over many steps).
import { describe, expect, it } from 'vitest';
import { SampleKernel, type SamplingParams } from '../../src/kernels/sample';
import { sampleRef, keptTokens } from '../../src/reference/sample';
import { Recorder } from '../../src/gpu/encoder';
import { readBuffer } from '../../src/gpu/buffers';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import type { GpuContext } from '../../src/gpu/device';

async function sampleSteps(ctx: GpuContext, logits: Float32Array, R: number, V: number, sp: SamplingParams, steps: number, eos: number[] = [9999]) {
  const k = await SampleKernel.create(ctx);
  const m = ctx.memory;
  const st = {
    seq: m.upload('seq', Uint32Array.from({ length: R }, (_, i) => 100 + i)), eos: m.upload('eos', Uint32Array.from(eos)), E: eos.length,
    tokens: m.upload('tok', new Int32Array(R)), done: m.upload('done', new Uint32Array(R)),
    history: m.upload('hist', new Int32Array(R * steps).fill(-7)), logps: m.upload('lp', new Float32Array(R * steps).fill(NaN)),
    maxNew: steps, pos: m.upload('pos', new Int32Array(R)), pad: -1,
  };
  const lb = m.upload('logits', logits);
  const rec = new Recorder(ctx, 'sample');
  for (let s = 0; s < steps; s++) k.encode(rec, lb, R, V, s, sp, st);
  rec.submit();
  const hist = new Int32Array(await readBuffer(ctx.device, st.history));
  const lps = new Float32Array(await readBuffer(ctx.device, st.logps));
  const pos = new Int32Array(await readBuffer(ctx.device, st.pos));
  const done = new Uint32Array(await readBuffer(ctx.device, st.done));
  [lb, st.seq, st.eos, st.tokens, st.done, st.history, st.logps, st.pos].forEach((b) => m.destroy(b));
  return { hist, lps, pos, done };
}

const MODES: Array<[string, SamplingParams]> = [
  ['greedy', { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 1 }],
  ['temperature 0.9', { temperature: 0.9, topK: 0, topP: 1, minP: 0, seed: 2 }],
  ['top-k 5', { temperature: 1, topK: 5, topP: 1, minP: 0, seed: 3 }],
  ['top-p 0.8', { temperature: 0.7, topK: 0, topP: 0.8, minP: 0, seed: 4 }],
  ['min-p 0.1', { temperature: 1.2, topK: 0, topP: 1, minP: 0.1, seed: 5 }],
  ['top-k 20 + top-p 0.9 + min-p 0.05', { temperature: 1, topK: 20, topP: 0.9, minP: 0.05, seed: 6 }],
];

describe('sample', () => {
  for (const [name, sp] of MODES) {
    it(`${name}: same tokens and log-probs as the reference`, async () => {
      const ctx = await testGpu();
      const [R, V, steps] = [3, 1000, 4];
      const logits = normal(R * V + sp.seed, R * V, 3);
      const { hist, lps, pos } = await sampleSteps(ctx, logits, R, V, sp, steps);
      for (let r = 0; r < R; r++) {
        for (let s = 0; s < steps; s++) {
          const ref = sampleRef(logits.subarray(r * V, (r + 1) * V), sp, 100 + r, s);
          expect(hist[r * steps + s], `row ${r} step ${s}`).toBe(ref.token);
          expect(Math.abs(lps[r * steps + s] - ref.logp)).toBeLessThan(1e-4);
        }
        expect(pos[r]).toBe(steps);
      }
    });
  }

  it('only ever samples kept tokens under top-k / top-p', async () => {
    const ctx = await testGpu();
    const V = 50;
    const logits = normal(77, V, 2);
    const sp = { temperature: 1, topK: 8, topP: 0.7, minP: 0, seed: 9 };
    const { hist } = await sampleSteps(ctx, logits, 1, V, sp, 64);
    const kept = keptTokens(logits, sp);
    for (const t of hist) expect(kept.has(t)).toBe(true);
  });

  it('plain sampling matches softmax(z) in distribution', async () => {
    const ctx = await testGpu();
    const V = 6;
    const logits = Float32Array.from([2, 1, 0.5, 0, -1, -3]);
    const steps = 600;
    const R = 4;
    const all = new Float32Array(R * V);
    for (let r = 0; r < R; r++) all.set(logits, r * V);
    const { hist } = await sampleSteps(ctx, all, R, V, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 11 }, steps);
    const counts = new Array(V).fill(0);
    for (const t of hist) counts[t]++;
    const z = Array.from(logits, Math.exp);
    const sum = z.reduce((a, b) => a + b);
    let chi2 = 0;
    for (let v = 0; v < V; v++) {
      const e = (hist.length * z[v]) / sum;
      chi2 += (counts[v] - e) ** 2 / e;
    }
    expect(chi2).toBeLessThan(20.5); // χ²(5 dof) 99.9th percentile
  });

  it('stops a row at EOS and pads it afterwards', async () => {
    const ctx = await testGpu();
    const V = 8;
    const logits = Float32Array.from([0, 0, 0, 10, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0]); // row 0 → 3 (EOS), row 1 → 1
    const { hist, done, lps } = await sampleSteps(ctx, logits, 2, V, { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0 }, 3, [3]);
    expect(Array.from(hist)).toEqual([3, -1, -1, 1, 1, 1]);
    expect(Array.from(done)).toEqual([1, 0]);
    expect(lps[1]).toBe(0);
  });
});
