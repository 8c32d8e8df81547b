// Sampling kernels vs the sorting reference: same tokens (same seeded Gumbel noise) and log-probs for
// greedy, plain temperature, top-k, top-p, min-p and their mix; EOS stops a row; and the empirical
// distribution of plain sampling matches softmax(z) (a chi-square check over many steps). Greedy and
// plain sampling run through both kernels (one workgroup per row, and the vocabulary in chunks over
// many workgroups), also with vocabularies of several chunks and of more than 256 chunks' default size.
import { describe, expect, it } from 'vitest';
import { SampleKernel, isPlainSampling, type SamplingParams } from '../../src/kernels/sample';
import { sampleRef, keptTokens } from '../../src/reference/sample';
import { Recorder } from '../../src/gpu/encoder';
import { readBuffer } from '../../src/gpu/buffers';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import type { GpuContext } from '../../src/gpu/device';

async function sampleSteps(ctx: GpuContext, logits: Float32Array, R: number, V: number, sp: SamplingParams, steps: number, eos: number[] = [9999], path?: 'full' | 'fast') {
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
  for (let s = 0; s < steps; s++) k.encode(rec, lb, R, V, s, sp, st, path);
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

async function expectReference(ctx: GpuContext, sp: SamplingParams, R: number, V: number, steps: number, path?: 'full' | 'fast'): Promise<void> {
  const logits = normal(R * V + sp.seed, R * V, 3);
  const { hist, lps, pos } = await sampleSteps(ctx, logits, R, V, sp, steps, [9999999], path);
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < steps; s++) {
      const ref = sampleRef(logits.subarray(r * V, (r + 1) * V), sp, 100 + r, s);
      expect(hist[r * steps + s], `row ${r} step ${s}`).toBe(ref.token);
      expect(Math.abs(lps[r * steps + s] - ref.logp)).toBeLessThan(1e-4);
    }
    expect(pos[r]).toBe(steps);
  }
}

describe('sample', () => {
  for (const [name, sp] of MODES) {
    const paths = isPlainSampling(sp, 1000) ? (['full', 'fast'] as const) : (['full'] as const);
    for (const path of paths) {
      it(`${name} (${path} kernel): same tokens and log-probs as the reference`, async () => {
        await expectReference(await testGpu(), sp, 3, 1000, 4, path);
      });
    }
  }

  // V = 600,001 also guards the Gumbel noise near u = 1: with −log(u) from WGSL's log (absolute error
  // 2^-21) a token whose u is within ~10⁻⁷ of 1 got a key far above its true one and won this case
  it('fast kernel: 5 chunks with a short last one (V = 9001), and 257+ chunks of a larger size (V = 600,001)', async () => {
    const ctx = await testGpu();
    for (const sp of [MODES[0][1], MODES[1][1]]) {
      await expectReference(ctx, sp, 2, 9001, 3, 'fast');
      await expectReference(ctx, sp, 1, 600_001, 2, 'fast');
    }
  });

  it('the fast kernel refuses top-k / top-p / min-p', async () => {
    const ctx = await testGpu();
    await expect(sampleSteps(ctx, new Float32Array(10), 1, 10, MODES[2][1], 1, [9999], 'fast')).rejects.toThrow(/fast path has no top-k/);
  });

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

  for (const path of ['full', 'fast'] as const) {
    it(`stops a row at EOS and pads it afterwards (${path} kernel)`, async () => {
      const ctx = await testGpu();
      const V = 8;
      const logits = Float32Array.from([0, 0, 0, 10, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0]); // row 0 → 3 (EOS), row 1 → 1
      const { hist, done, lps } = await sampleSteps(ctx, logits, 2, V, { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0 }, 3, [3], path);
      expect(Array.from(hist)).toEqual([3, -1, -1, 1, 1, 1]);
      expect(Array.from(done)).toEqual([1, 0]);
      expect(lps[1]).toBe(0);
    });
  }
});
