// `bench-rollout`'s per-kernel profile of one decode layer: each kernel of a layer at R rows with
// the cache filled to L positions, timed alone over repeated dispatches (dispatch overhead
// included), plus the LoRA variants of the projections and both attention kernels — to show where a
// decode step's "layers" time goes and which change pays.
import type { GpuContext } from '../../gpu/device';
import type { Recorder } from '../../gpu/encoder';
import { splitScratch } from '../../kernels/attention_gqa';
import { createLora, destroyLora } from '../../lora/adapter';
import { LORA_TARGETS } from '../../lora/targets';
import { loraBase } from '../../grpo/session';
import type { Engine } from '../../model/engine';
import { createKvCache, destroyKvCache } from '../../model/kv-cache';
import { encodeLinear } from '../../model/layer';
import { qkvSlices, type ModelWeights } from '../../model/weights';
import { destroyWeight, uploadWeight } from '../../kernels/matmul';
import { timeKernel } from './timing';
import { GpuTimer } from './gpu-timer';
import { quantizeQ4Fast } from './weights';

/** milliseconds per kernel of one layer (LoRA r = 16 on all seven projections where named) */
export async function decodeLayerProfile(ctx: GpuContext, engine: Engine, weights: ModelWeights, R: number, L: number, iters = 50): Promise<Record<string, number>> {
  const c = weights.config;
  const k = engine.k;
  const m = ctx.memory;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: K, headDim: D } = c;
  const f = (label: string, n: number) => m.create(`prof.${label}`, n * 4);
  const x = f('x', R * C), xn = f('xn', R * C), qkv = f('qkv', R * qkvSlices(c).total), att = f('att', R * H * D), lse = f('lse', R * H);
  const gu = f('gu', R * 2 * I), h = f('h', R * I), u = f('u', R * 3 * 16);
  const slot = m.upload('prof.slot', Int32Array.from({ length: R }, (_, i) => i));
  const pos = m.upload('prof.pos', new Int32Array(R).fill(L - 1));
  const cache = createKvCache(ctx, c, R, L);
  const lora = createLora(ctx, loraBase(weights), { r: 16, alpha: 16, targets: [...LORA_TARGETS], seed: 1 });
  const w = weights.layers[0];
  const ll = lora.layers[0];
  const shape = { T: R, H, K, D, L };
  const io = { qkv, kc: cache.layers[0].k, vc: cache.layers[0].v, slot, pos, out: att, lse };
  const split = k.attentionGqa.plan(shape, splitScratch(shape, Math.ceil(L / 16)));
  const part = split && split.S > 1 ? f('part', splitScratch(shape, split.S)) : null;
  const out: Record<string, number> = {};
  const t = async (name: string, fn: (rec: Recorder) => void) => {
    out[name] = (await timeKernel(ctx, fn, { iters })).ms;
  };
  await t('rmsnorm', (r) => k.rmsnorm.encode(r, x, w.inputNorm, xn, R, C, c.rmsNormEps)); // once untimed: the first timing after setup ran 5–50× slow
  await t('rmsnorm', (r) => k.rmsnorm.encode(r, x, w.inputNorm, xn, R, C, c.rmsNormEps));
  await t('qkv', (r) => encodeLinear(r, k, xn, w.qkv, qkv, R, null, undefined, false, u));
  await t('qkv + LoRA', (r) => encodeLinear(r, k, xn, w.qkv, qkv, R, lora, ll.qkv, false, u));
  await t('rope + kv write', (r) => k.ropeKv.encode(r, shape, engine.rope, { qkv, slot, pos, kc: io.kc, vc: io.vc }));
  await t('attention (a workgroup per head)', (r) => k.attention.encode(r, shape, io));
  if (split) await t(`attention (by kv head, ${split.S} chunks of ${split.CH})`, (r) => k.attentionGqa.encode(r, shape, split, { ...io, part: part ?? undefined }));
  if (split && k.attentionGqa.canRope(shape.D, split)) await t(`attention (by kv head, ${split.S} chunks of ${split.CH}) with RoPE + kv write in it`, (r) => k.attentionGqa.encode(r, shape, split, { ...io, part: part ?? undefined, rope: engine.rope }));
  // the key-chunk count on the GPU clock (partial + merge in one timed pass), all keys up to L − 1
  const timer = GpuTimer.create(ctx);
  if (timer && split) {
    const Ss = [...new Set([1, 4, 8, 11, 16, 24, 48].filter((n) => n <= L))];
    const big = f('part.sweep', splitScratch(shape, Math.max(...Ss)));
    const engineS = k.attentionGqa.plan(shape, engine.opts.maxTokens * 2 * I)?.S; // layer.ts: the scratch is gate|up's buffer (maxTokens rows)
    const plans = Ss.map((n) => k.attentionGqa.plan(shape, splitScratch(shape, n), n)!);
    const ms = await timer.median(plans.map((sp) => (r: Recorder) => k.attentionGqa.encode(r, shape, sp, { ...io, part: big })), 5);
    plans.forEach((sp, i) => { out[`attention GPU-timed, ${sp.S} chunks of ${sp.CH}${sp.S === engineS ? ' (engine)' : ''}`] = ms[i]; });
    m.destroy(big);
    timer.destroy();
  }
  await t('o + residual', (r) => encodeLinear(r, k, att, w.o, x, R, null, undefined, true, u));
  await t('o + residual + LoRA', (r) => encodeLinear(r, k, att, w.o, x, R, lora, ll.o, true, u));
  await t('gate|up', (r) => encodeLinear(r, k, xn, w.gateUp, gu, R, null, undefined, false, u));
  // controls for the same shape: the matmul called directly; a weight uploaded from the host (as
  // `bench` makes it) instead of the model's random_fill one; x not zero
  await t('gate|up (matmul only)', (r) => k.matmul.encode(r, xn, w.gateUp, gu, R));
  const fresh = uploadWeight(ctx, { format: 'q4', N: 2 * I, K: C, q: quantizeQ4Fast(2 * I, C, 7) }, 'prof.fresh');
  await t('gate|up (uploaded weight)', (r) => k.matmul.encode(r, xn, fresh, gu, R));
  destroyWeight(ctx, fresh);
  const xr = m.upload('prof.xr', Float32Array.from({ length: R * C }, (_, i) => Math.sin(i * 0.37)));
  await t('gate|up (x not zero)', (r) => k.matmul.encode(r, xr, w.gateUp, gu, R));
  m.destroy(xr);
  const gemv = k.matmul.variantFor(R) === 'gemv'; // the fusions exist for the decode GEMVs only
  if (gemv && k.matmul.normFusable) await t('gate|up, RMSNorm fused (decodeFusion.norm)', (r) => encodeLinear(r, k, x, w.gateUp, gu, R, null, undefined, false, u, { norm: { w: w.postNorm, eps: c.rmsNormEps } }));
  if (gemv && k.matmul.normFusable) await t('gate|up + LoRA, RMSNorm fused (decodeFusion.norm)', (r) => encodeLinear(r, k, x, w.gateUp, gu, R, lora, ll.gateUp, false, u, { norm: { w: w.postNorm, eps: c.rmsNormEps } }));
  await t('gate|up + LoRA', (r) => encodeLinear(r, k, xn, w.gateUp, gu, R, lora, ll.gateUp, false, u));
  await t('swiglu', (r) => k.swiglu.encode(r, gu, h, R, I));
  await t('down + residual', (r) => encodeLinear(r, k, h, w.down, x, R, null, undefined, true, u));
  await t('down + residual + LoRA', (r) => encodeLinear(r, k, h, w.down, x, R, lora, ll.down, true, u));
  if (gemv) await t('down + residual, SwiGLU fused (decodeFusion.swiglu)', (r) => encodeLinear(r, k, gu, w.down, x, R, null, undefined, true, u, { swiglu: true }));
  if (gemv) await t('down + residual + LoRA, SwiGLU fused (decodeFusion.swiglu)', (r) => encodeLinear(r, k, gu, w.down, x, R, lora, ll.down, true, u, { swiglu: true }));
  destroyLora(ctx, lora);
  destroyKvCache(ctx, cache);
  for (const b of [x, xn, qkv, att, lse, gu, h, u, slot, pos, part]) if (b) m.destroy(b);
  return out;
}
