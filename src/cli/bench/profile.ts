// `bench-step --profile`: where one training micro-batch spends its time, kernel by kernel, at the
// real shapes (B sequences of Ts tokens sharing one prompt of Ts − Tc, laid out as training does,
// src/model/train-layout.ts, on the 1.5B model): timed alone over repeated dispatches.
import type { GpuContext } from '../../gpu/device';
import { engineKernels } from '../../model/kernels';
import { AttentionBackwardKernel } from '../../kernels/attention_backward';
import { LmLogprobKernel } from '../../kernels/lm_logprob';
import { RmsNormBackwardKernel } from '../../kernels/rmsnorm_backward';
import type { ModelWeights } from '../../model/weights';
import { qkvSlices } from '../../model/weights';
import { maxQueries, trainLayout } from '../../model/train-layout';
import { timeKernel } from './timing';
import { GpuTimer } from './gpu-timer';
import { Recorder } from '../../gpu/encoder';

export async function profileTraining(ctx: GpuContext, w: ModelWeights, B: number, Ts: number, Tc: number, R: number): Promise<Record<string, number>> {
  const k = await engineKernels(ctx);
  const c = w.config;
  const lay = trainLayout(Array.from({ length: B }, () => ({ prompt: new Array(Ts - Tc).fill(1), completion: new Array(Tc).fill(2) })), 0, Tc);
  const T = lay.T;
  const M = lay.M;
  const C = c.hiddenSize;
  const I = c.intermediateSize;
  const nq = qkvSlices(c).total;
  const m = ctx.memory;
  const f = (n: number) => m.create('prof', n * 4);
  const x = f(T * Math.max(C, 2 * I)), y = f(T * Math.max(C, 2 * I)), z = f(T * Math.max(C, 2 * I)), qkv = f(T * nq), att = f(T * C), lse = f(T * c.numHeads), dq = f(T * nq), delta = f(T * c.numHeads);
  const u = f(T * 3 * R), A = f(3 * R * I), Bm = f(2 * I * R), dA = f(3 * R * I), dB = f(2 * I * R);
  const ids = m.upload('prof.ids', lay.ids), slot = m.upload('prof.slot', lay.slot), pos = m.upload('prof.pos', lay.pos), fan = m.upload('prof.fan', lay.fan), spans = m.upload('prof.spans', lay.spans);
  const kc = f(B * lay.L * c.numKvHeads * c.headDim), vc = f(B * lay.L * c.numKvHeads * c.headDim);
  const attBack = await AttentionBackwardKernel.create(ctx);
  const rmsBack = await RmsNormBackwardKernel.create(ctx);
  const lm = await LmLogprobKernel.create(ctx, k.matmul, 8192);
  const hid = f(M * C), tg = m.upload('prof.t', new Int32Array(M)), lp = f(M), ls = f(M), en = f(M), dl = f(M), dh = f(M * C);
  const L = w.layers[0];
  const shape = { T, H: c.numHeads, K: c.numKvHeads, D: c.headDim, L: lay.L };
  const out: Record<string, number> = {};
  const t = async (name: string, fn: Parameters<typeof timeKernel>[1]) => { out[name] = (await timeKernel(ctx, fn, { iters: 5 })).ms; console.log(`  ${name}: ${out[name].toFixed(3)} ms`); };
  // the tiled matmuls as training runs them (split-K through a scratch where the grid is small), and without the split
  const split = { scratch: f(T * I) };
  await t('matmul qkv fwd', (r) => k.matmul.encode(r, x, L.qkv, qkv, T, { split }));
  await t('matmul o fwd', (r) => k.matmul.encode(r, att, L.o, y, T, { split }));
  await t('matmul gateUp fwd', (r) => k.matmul.encode(r, x, L.gateUp, y, T, { split }));
  await t('matmul down fwd', (r) => k.matmul.encode(r, x, L.down, y, T, { split }));
  await t('matmul qkv fwd (no split-K)', (r) => k.matmul.encode(r, x, L.qkv, qkv, T));
  await t('matmul o fwd (no split-K)', (r) => k.matmul.encode(r, att, L.o, y, T));
  await t('matmul down fwd (no split-K)', (r) => k.matmul.encode(r, x, L.down, y, T));
  await t('matmul gateUp fwd (4 rows per thread)', (r) => k.matmul.encode(r, x, L.gateUp, y, T, { tiledRows: 4 }));
  await t('matmul_t qkv bwd', (r) => k.matmul.encodeTransposed(r, qkv, L.qkv, x, T, { split }));
  await t('matmul_t o bwd', (r) => k.matmul.encodeTransposed(r, att, L.o, x, T, { split }));
  await t('matmul_t gateUp bwd', (r) => k.matmul.encodeTransposed(r, y, L.gateUp, x, T, { split }));
  await t('matmul_t down bwd', (r) => k.matmul.encodeTransposed(r, y, L.down, x, T, { split }));
  await t('matmul_t qkv bwd (no split-K)', (r) => k.matmul.encodeTransposed(r, qkv, L.qkv, x, T));
  await t('matmul_t o bwd (no split-K)', (r) => k.matmul.encodeTransposed(r, att, L.o, x, T));
  await t('matmul_t gateUp bwd (no split-K)', (r) => k.matmul.encodeTransposed(r, y, L.gateUp, x, T));
  for (const splits of [2, 3, 6, 8]) await t(`matmul_t gateUp bwd (split-K ${splits})`, (r) => k.matmul.encodeTransposed(r, y, L.gateUp, x, T, { split: { ...split, splits } }));
  for (const splits of [2, 3, 6]) await t(`matmul o fwd (split-K ${splits})`, (r) => k.matmul.encode(r, att, L.o, y, T, { split: { ...split, splits } }));
  for (const splits of [2, 3]) await t(`matmul_t qkv bwd (split-K ${splits})`, (r) => k.matmul.encodeTransposed(r, qkv, L.qkv, x, T, { split: { ...split, splits } }));
  await t('attention fwd (a workgroup per head and token)', (r) => k.attention.encode(r, shape, { qkv, kc, vc, slot, pos, out: att, lse }));
  const chunks = k.attentionGqa.plan(shape, 0);
  if (chunks) await t('attention fwd (by kv head: what training runs)', (r) => k.attentionGqa.encode(r, shape, chunks, { qkv, kc, vc, slot, pos, out: att, lse }));
  // training's dk/dv split: parts of dkvSplitPairs pairs for the shared prompt's keys, summed through a free buffer
  const dkvSplit = { scratch: split.scratch, maxQueries: maxQueries(lay.spans) };
  const ab = { qkv, out: att, lse, dout: att, dqkv: dq, delta, spans }; // the attention backward's bindings (dout: the forward's output stands in)
  await t('attention bwd (dq by kv head, dk/dv by lanes: what training runs)', (r) => attBack.encode(r, shape, ab, dkvSplit));
  await t('attention bwd (dk/dv not split)', (r) => attBack.encode(r, shape, ab));
  const splitPairs = attBack.dkvSplitPairs;
  for (const pairs of [1024, 4096]) {
    attBack.dkvSplitPairs = pairs;
    await t(`attention bwd (dk/dv split into parts of ≤ ${pairs} pairs)`, (r) => attBack.encode(r, shape, ab, dkvSplit));
  }
  attBack.dkvSplitPairs = splitPairs;
  const dkvThreads = attBack.dkvThreads; // the default, and then the other choice
  attBack.dkvThreads = dkvThreads === 128 ? 256 : 128;
  await t(`attention bwd (dk/dv by lanes, ${attBack.dkvThreads} threads a workgroup)`, (r) => attBack.encode(r, shape, ab, dkvSplit));
  attBack.dkvThreads = dkvThreads;
  const dkvKeys = attBack.dkvKeys;
  for (const keys of [1, 2, 4] as const) {
    if (keys === dkvKeys) continue;
    attBack.dkvKeys = keys;
    await t(`attention bwd (dk/dv by lanes, ${keys} key${keys > 1 ? 's' : ''} a workgroup)`, (r) => attBack.encode(r, shape, ab, dkvSplit));
  }
  attBack.dkvKeys = dkvKeys;
  attBack.dqVariant = 'head';
  attBack.dkvVariant = 'thread';
  await t('attention bwd (dq by head, dk/dv by thread: the kernels of 2026-11-24)', (r) => attBack.encode(r, shape, ab));
  attBack.dqVariant = null;
  attBack.dkvVariant = null;
  await t('rope + kv write', (r) => k.ropeKv.encode(r, shape, { buffer: f(Ts * c.headDim), D: c.headDim, maxPos: Ts, theta: 1e6 }, { qkv, slot, pos, kc, vc, fan }));
  await t('rmsnorm fwd', (r) => k.rmsnorm.encode(r, x, L.inputNorm, y, T, C, 1e-6));
  await t('rmsnorm bwd', (r) => rmsBack.encode(r, x, L.inputNorm, y, z, T, C, 1e-6, true));
  await t('swiglu fwd', (r) => k.swiglu.encode(r, y, x, T, I));
  await t('swiglu bwd', (r) => k.swiglu.encodeBackward(r, y, x, z, T, I));
  await t('lora u = x·Aᵀ (gateUp, 2R)', (r) => k.gemm.encode(r, x, A, u, T, 2 * R, C, { transB: true }));
  await t('lora dB (gate slice)', (r) => k.gemm.encode(r, y, u, dB, I, R, T, { transA: true, lda: 2 * I, ldb: 2 * R, ldc: R, beta: 1 }));
  await t('lora du (gate slice)', (r) => k.gemm.encode(r, y, Bm, u, T, R, I, { lda: 2 * I, ldb: R, ldc: 2 * R, beta: 0 }));
  await t('lora dA (gateUp)', (r) => k.gemm.encode(r, u, x, dA, 2 * R, C, T, { transA: true, lda: 2 * R, beta: 1 }));
  await t('lora dx += du·A (gateUp)', (r) => k.gemm.encode(r, u, A, x, T, C, 2 * R, { beta: 1 }));
  await t('lm head logprob fwd', (r) => lm.encode(r, w.lmHead, M, 1, { hidden: hid, targets: tg, logp: lp, lse: ls, entropy: en }));
  await t('lm head logprob bwd', (r) => lm.encodeBackward(r, w.lmHead, M, 1, { hidden: hid, targets: tg, lse: ls, dlogp: dl, dhidden: dh }));
  await t('embed', (r) => k.embed.encode(r, ids, w.embed, x, T));
  lm.destroy();
  return out;
}

/** Whole passes of a real session at its shapes: policy forward, backward, reference forward, a LoRA decode step. */
export async function profileSession(ctx: GpuContext, w: ModelWeights, cfg: import('../../grpo/config').TrainConfig): Promise<Record<string, number>> {
  const { TrainingSession } = await import('../../grpo/session');
  const { uploadBatch } = await import('../../grpo/batch');
  const { createKvCache, destroyKvCache } = await import('../../model/kv-cache');
  const tok = { encode: () => [1], decode: () => '', applyChatTemplate: () => '', eosTokenIds: [] as number[] };
  const s = await TrainingSession.create(ctx, w, tok, { config: cfg, task: { kind: 'countdown', seed: 1, minNums: 3, maxNums: 4, template: 'base' }, rewards: [{ kind: 'builtin', name: 'countdown', weight: 1 }] });
  const G = cfg.numGenerations;
  // one group: the G completions of one prompt (the layout shares its rows, as a step's batch does)
  const prompt = Array.from({ length: cfg.maxPromptLength }, (_, i) => (i * 31) % 1000);
  const seqs = Array.from({ length: G }, (_, b) => ({ prompt, completion: Array.from({ length: cfg.maxCompletionLength }, (_, i) => (i * 17 + b) % 1000) }));
  const batch = uploadBatch(ctx, seqs, 0, cfg.maxCompletionLength);
  const out: Record<string, number> = {};
  const t = async (name: string, fn: Parameters<typeof timeKernel>[1], iters = 2) => { out[name] = (await timeKernel(ctx, fn, { iters })).ms; console.log(`  ${name}: ${out[name].toFixed(1)} ms`); };
  await t('session: reference forward + LM head (adapter off)', (r) => s.backprop.encodeLogprobs(r, batch, null, 1, false));
  await t('session: policy forward + LM head (LoRA, saving inputs)', (r) => s.backprop.encodeLogprobs(r, batch, s.lora, 1, true));
  await t('session: policy pass on the rollout\'s saved inputs (final norm + LM head)', (r) => s.backprop.encodeLogprobsSaved(r, batch, 1));
  await t('session: backward (recompute + LoRA grads)', (r) => s.backprop.encodeBackward(r, batch, s.lora, s.optimizer.grads, 1));
  await byKernel(ctx, 'reference forward', (r) => s.backprop.encodeLogprobs(r, batch, null, 1, false));
  await byKernel(ctx, 'backward', (r) => s.backprop.encodeBackward(r, batch, s.lora, s.optimizer.grads, 1));
  const cache = createKvCache(ctx, w.config, G, cfg.maxPromptLength + cfg.maxCompletionLength);
  const m = ctx.memory;
  const io = { ids: m.upload('p.ids', new Int32Array(G)), slot: m.upload('p.slot', Int32Array.from({ length: G }, (_, i) => i)), pos: m.upload('p.pos', new Int32Array(G).fill(200)), decode: true };
  await t('decode step layers, no LoRA', (r) => s.engine.encodeForward(r, G, io, cache, null), 10);
  await t('decode step layers, LoRA', (r) => s.engine.encodeForward(r, G, io, cache, s.lora), 10);
  destroyKvCache(ctx, cache);
  batch.destroy();
  s.destroy();
  return out;
}

/**
 * A whole pass captured and each dispatch timed on the GPU in a pass of its own (GpuTimer), summed by
 * pipeline and grid: where the pass's time goes, LoRA gemms and reductions included (their timings
 * alone, above, miss how often and at which shapes the pass runs them). Prints the 24 largest.
 */
async function byKernel(ctx: GpuContext, name: string, encode: (rec: Recorder) => void): Promise<void> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return;
  try {
    await timeByKernel(ctx, timer, name, encode);
  } finally {
    timer.destroy();
  }
}

async function timeByKernel(ctx: GpuContext, timer: GpuTimer, name: string, encode: (rec: Recorder) => void): Promise<void> {
  const cap = new Recorder(ctx, 'capture');
  cap.beginCapture();
  encode(cap);
  const c = cap.endCapture();
  cap.discard();
  await timer.timeCapture(c); // warm-up
  const sums = new Map<string, { ms: number; n: number }>();
  let total = 0;
  for (const { label, ms } of await timer.timeCapture(c)) {
    const e = sums.get(label) ?? { ms: 0, n: 0 };
    e.ms += ms;
    e.n++;
    total += ms;
    sums.set(label, e);
  }
  const top = [...sums].sort((a, b) => b[1].ms - a[1].ms).slice(0, 24);
  console.log(`  ${name} by kernel (each of ${c.dispatches} dispatches in a pass of its own, GPU-timed): ${total.toFixed(1)} ms; ${top.map(([l, e]) => `${l} ×${e.n} ${e.ms.toFixed(2)}`).join(' · ')}`);
}
