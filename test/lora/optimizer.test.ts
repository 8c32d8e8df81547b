// LoraOptimizer on a tiny adapter vs the f64 reference (src/reference/adamw.ts: clip_grad_norm_ +
// torch AdamW) over 3 steps with clipping on in some: parameters, grad norm, moments; untargeted
// slices and untargeted fused weights stay untouched; grad zeroing; state() / loadState().
import { afterAll, describe, expect, it } from 'vitest';
import { createLora, destroyLora, fusedShapes, type LoraBaseShape } from '../../src/lora/adapter';
import { LoraOptimizer, OptimizerStateError } from '../../src/lora/optimizer';
import type { FusedName, LoraTarget } from '../../src/lora/targets';
import { adamwStep, clipGradNorm, initAdamWState, type AdamWState } from '../../src/reference/adamw';
import { readF32, writeView } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { expectClose } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

const base: LoraBaseShape = { numLayers: 2, hiddenSize: 16, intermediateSize: 24, qDim: 16, kvDim: 8 };
const R = 4;
// k_proj off: an untargeted slice inside an active fused weight; o_proj off: a whole inactive fused weight
const targets: LoraTarget[] = ['q_proj', 'v_proj', 'gate_proj', 'up_proj', 'down_proj'];
const FUSED: FusedName[] = ['qkv', 'o', 'gateUp', 'down'];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('optimizer worst relative errors', worst); });

/** zero outside the enabled slices: rows of A [S·R, K] / rows of B [N, R] */
function maskSlices(x: Float32Array, f: FusedName, which: 'A' | 'B', enabled: boolean[]): Float32Array {
  const { K, N, starts } = fusedShapes(base)[f];
  const out = x.slice();
  enabled.forEach((on, s) => {
    if (on) return;
    if (which === 'A') out.fill(0, s * R * K, (s + 1) * R * K);
    else out.fill(0, starts[s] * R, (s + 1 < starts.length ? starts[s + 1] : N) * R);
  });
  return out;
}

describe('LoraOptimizer', () => {
  it('3 steps equal clip_grad_norm_ + AdamW (reference), state round-trips', async () => {
    const ctx = await testGpu();
    const adapter = createLora(ctx, base, { r: R, alpha: 8, targets, seed: 7 });
    const opt = await LoraOptimizer.create(ctx, adapter);
    // trained buffers in the optimizer's order, with B given random (masked) values too
    const trained: Array<{ key: string; f: FusedName; l: number; which: 'A' | 'B'; enabled: boolean[] }> = [];
    adapter.layers.forEach((layer, l) => FUSED.forEach((f) => {
      if (!layer[f].enabled.some(Boolean)) return;
      for (const which of ['A', 'B'] as const) trained.push({ key: `layers.${l}.${f}.${which}`, f, l, which, enabled: layer[f].enabled });
    }));
    expect(trained.length).toBe(2 * 3 * 2);
    for (const [i, x] of trained.entries()) {
      if (x.which === 'B') writeView(ctx.device, adapter.layers[x.l][x.f].B, 0, maskSlices(normal(50 + i, adapter.layers[x.l][x.f].B.size / 4, 0.1), x.f, 'B', x.enabled));
    }
    const oBefore = await readF32(ctx.device, adapter.layers[0].o.A);
    let params: Float64Array[] = await Promise.all(trained.map(async (x) => Float64Array.from(await readF32(ctx.device, adapter.layers[x.l][x.f][x.which]))));
    let state: AdamWState = initAdamWState(params.map((p) => p.length));
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };
    const scales: number[] = [];
    for (let t = 1; t <= 3; t++) {
      const grads = trained.map((x, i) => maskSlices(normal(1000 * t + i, params[i].length, 0.01 * t * t), x.f, x.which, x.enabled));
      trained.forEach((x, i) => writeView(ctx.device, opt.grads[x.l][x.f][x.which], 0, grads[i]));
      const rec = new Recorder(ctx, 'test');
      opt.encodeStep(rec, h);
      rec.submit();
      const clip = clipGradNorm(grads, h.maxGradNorm);
      scales.push(clip.scale);
      const ref = adamwStep(params, clip.grads, state, h);
      params = ref.params;
      state = ref.state;
      const norm = await opt.readGradNorm();
      worst[`step ${t} norm`] = rel(norm, clip.totalNorm);
      expect(worst[`step ${t} norm`]).toBeLessThanOrEqual(1e-6);
      expect(opt.step).toBe(t);
      for (const [i, x] of trained.entries()) {
        const got = await readF32(ctx.device, adapter.layers[x.l][x.f][x.which]);
        worst[`step ${t} params`] = Math.max(worst[`step ${t} params`] ?? 0, expectClose(got, params[i], 1e-6, `step ${t} ${x.key}`).rel);
        expect(maskSlices(got, x.f, x.which, x.enabled)).toEqual(got); // untargeted slices still zero
      }
    }
    expect(scales.some((s) => s < 1) && scales.some((s) => s === 1)).toBe(true); // clipping both on and off
    expect(await readF32(ctx.device, adapter.layers[0].o.A)).toEqual(oBefore); // o_proj not targeted: untouched

    const st = await opt.state();
    expect(st.step).toBe(3);
    expect([...st.tensors.keys()].sort()).toEqual(trained.flatMap((x) => [`${x.key}.m`, `${x.key}.v`]).sort());
    trained.forEach((x, i) => {
      worst.m = Math.max(worst.m ?? 0, expectClose(st.tensors.get(`${x.key}.m`) as Float32Array, state.m[i], 1e-6, `${x.key}.m`).rel);
      worst.v = Math.max(worst.v ?? 0, expectClose(st.tensors.get(`${x.key}.v`) as Float32Array, state.v[i], 1e-6, `${x.key}.v`).rel);
    });

    // zeroing the gradients
    const rec = new Recorder(ctx, 'test');
    opt.encodeZeroGrads(rec);
    rec.submit();
    for (const g of opt.grads) for (const f of FUSED) {
      expect((await readF32(ctx.device, g[f].A)).every((v) => v === 0)).toBe(true);
      expect((await readF32(ctx.device, g[f].B)).every((v) => v === 0)).toBe(true);
    }

    // a fresh optimizer takes the state and gives it back unchanged; a wrong one is refused
    const opt2 = await LoraOptimizer.create(ctx, adapter);
    opt2.loadState(st);
    const st2 = await opt2.state();
    expect(st2.step).toBe(3);
    for (const [k, v] of st.tensors) expect(st2.tensors.get(k)).toEqual(v);
    const short = new Map(st.tensors);
    short.set('layers.0.qkv.A.m', new Float32Array(3));
    expect(() => opt2.loadState({ step: 3, tensors: short })).toThrow(OptimizerStateError);
    expect(() => opt2.loadState({ step: 3, tensors: new Map([...st.tensors, ['layers.0.o.A.m', new Float32Array(1)]]) })).toThrow(/layers.0.o.A.m/);
    const missing = new Map(st.tensors);
    missing.delete('layers.1.down.B.v');
    expect(() => opt2.loadState({ step: 3, tensors: missing })).toThrow(/layers.1.down.B.v: missing/);

    const live = ctx.memory.live;
    opt2.destroy();
    expect(ctx.memory.live).toBeLessThan(live);
    opt.destroy();
    destroyLora(ctx, adapter);
    expect(ctx.errors).toEqual([]);
  });
});
