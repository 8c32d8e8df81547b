// One GRPO optimizer step, as TRL's GRPOTrainer does it: sample G completions per prompt (rollout),
// score them with the reward functions, group-normalise into advantages, take reference log-probs
// with the adapter off (β > 0), then per iteration and micro-batch: forward, the loss head, backward,
// and one clipped AdamW update over the LoRA matrices. Metrics as TRL logs them.
// Where the step is one micro-batch, the rollout saves every layer's input at the training layout's
// rows as it decodes (the same policy, the same tokens), so the first iteration's forward is only the
// final norm and the LM head (TrainerParts.reuseRollout).
import type { GpuContext } from '../gpu/device';
import { Recorder } from '../gpu/encoder';
import { readF32 } from '../gpu/buffers';
import type { LoraAdapter } from '../lora/adapter';
import type { Engine } from '../model/engine';
import { generate, type GenerateResult } from '../model/generate';
import { rolloutRows, sameUnits } from '../model/train-layout';
import type { Backprop, LoraGradLayers } from '../model/backprop';
import { computeAdvantages } from './advantages';
import { uploadBatch, type Sequence } from './batch';
import type { TrainConfig } from './config';
import { grpoLoss } from './loss';
import { lrAt } from './schedule';

/** The optimizer the trainer drives (src/lora/optimizer.ts). */
export interface Optimizer {
  grads: LoraGradLayers;
  encodeZeroGrads(rec: Recorder): void;
  encodeStep(rec: Recorder, hp: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxGradNorm: number; step: number }): void;
  /** the global grad norm (before clipping) of the last step */
  readGradNorm(): Promise<number>;
}

/** A prompt ready for the policy, and what its rewards need. */
export interface PromptItem<S> {
  ids: number[];
  text: string;
  sample: S;
}

/** Rewards of a batch: total and per function (name → score[]), errors per function. */
export interface ScoredBatch {
  totals: number[];
  perFunction: Record<string, number[]>;
  errors: Record<string, string[]>;
}

export interface TrainerParts<S> {
  ctx: GpuContext;
  engine: Engine;
  backprop: Backprop;
  lora: LoraAdapter;
  optimizer: Optimizer;
  /** next promptsPerStep prompts */
  nextPrompts(n: number): PromptItem<S>[];
  decode(ids: number[]): string;
  score(completions: string[], samples: S[]): Promise<ScoredBatch>;
  eosIds: number[];
  /** RNG streams of sampling: advanced by one batch per step */
  seed: number;
  /**
   * the rollout saves each layer's input for the first iteration's backward where the step is one
   * micro-batch (default true; false runs the policy forward as TRL does — benchmarks, tests)
   */
  reuseRollout?: boolean;
}

export interface StepSample {
  prompt: string;
  completion: string;
  rewards: Record<string, number>;
  total: number;
  errors: Record<string, string>;
}

export interface StepResult {
  step: number;
  metrics: Record<string, number>;
  samples: StepSample[];
  /** the first iteration took the layers' inputs the rollout saved (no policy forward) */
  reusedRollout: boolean;
}

export interface StepControl {
  /** polled once per decode step; true ends the rollout early (the step is then abandoned) */
  shouldStop?: () => boolean;
}

export class StepAbandoned extends Error {
  override name = 'StepAbandoned';
}

/** Runs optimizer step `step` (0-based) of `cfg.totalSteps`. */
export async function trainStep<S>(p: TrainerParts<S>, cfg: TrainConfig, step: number, control: StepControl = {}): Promise<StepResult> {
  const t0 = performance.now();
  const { ctx } = p;
  ctx.memory.resetPeak();
  const G = cfg.numGenerations;
  const prompts = p.nextPrompts(cfg.promptsPerStep).map((q) => ({ ...q, ids: q.ids.slice(-cfg.maxPromptLength) }));
  const B = prompts.length * G;
  const micro = Math.max(1, cfg.gradientAccumulationSteps);
  const per = Math.ceil(B / micro);
  // 1. rollout (saving the layers' inputs where one micro-batch will take them all)
  const planned = (p.reuseRollout ?? true) && per >= B ? rolloutRows(prompts.map((q) => q.ids.length), G, cfg.maxCompletionLength) : null;
  const saveRows = planned && planned.T <= p.backprop.opts.maxTokens ? planned : null;
  let stopped = false;
  const gen: GenerateResult = await generate(p.engine, {
    prompts: prompts.map((q) => q.ids), G, maxNewTokens: cfg.maxCompletionLength, eosIds: p.eosIds, lora: p.lora,
    sampling: { temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP, minP: cfg.minP, seed: p.seed },
    seqBase: step * B,
    shouldStop: () => (stopped = !!control.shouldStop?.()),
    save: saveRows ? { dst: p.backprop.savedInputs, rows: saveRows } : undefined,
  });
  if (stopped) throw new StepAbandoned(`step ${step} stopped during rollout`);
  const tRollout = performance.now();
  const lengths = gen.completions.map((c) => c.length);
  const mask = (b: number, j: number): number => (j < lengths[b] && (gen.finished[b] || !cfg.maskTruncatedCompletions) ? 1 : 0);
  // 2. micro-batches
  const groups: number[][] = [];
  for (let i = 0; i < B; i += per) groups.push(Array.from({ length: Math.min(per, B - i) }, (_, k) => i + k));
  const seqOf = (b: number): Sequence => ({ prompt: prompts[Math.floor(b / G)].ids, completion: gen.completions[b] });
  const Tc = Math.max(1, ...lengths);
  const activeTokens = groups.flat().reduce((s, b) => s + Array.from({ length: Tc }, (_, j) => mask(b, j)).reduce((a, x) => a + x, 0), 0);
  const batches = groups.map((g) => uploadBatch(ctx, g.map(seqOf), p.eosIds[0] ?? 0, Tc));
  // the rollout's rows are this layout's where its units are the planned ones (one prompt: always)
  const reused = !!saveRows && batches.length === 1 && sameUnits(batches[0].units, saveRows.units);
  try {
    // 3. reference log-probs (adapter off), queued on the GPU first: the rewards, the policy pass and
    // the backward's encoding overlap them on the CPU
    const refQueued = cfg.beta > 0 ? queueRefLogprobs(p, batches, cfg.temperature) : null;
    refQueued?.catch(() => {}); // awaited below; a step that fails before then must not leave it unhandled
    // 4. rewards and advantages (the completions decoded to text while the GPU runs the reference pass)
    const texts = gen.completions.map((c) => p.decode(c));
    const samples = prompts.flatMap((q) => Array.from({ length: G }, () => q.sample));
    const scored = await p.score(texts, samples);
    const adv = computeAdvantages(scored.totals, G, cfg.scaleRewards);
    // 5. policy passes, loss, backward. The old log-probs of μ > 1 are the first iteration's: every
    // micro-batch of it runs before the first update, under the rollout's adapter (TRL takes them
    // from a pass of their own, with the same weights)
    let ref: Float32Array[] | null = null;
    let tRef = performance.now(); // without a reference pass: after the rewards; else when its log-probs are back
    const old: Float32Array[] = [];
    const acc = { loss: 0, kl: 0, clipLow: 0, clipHigh: 0, clipRegion: 0, entropy: 0, gradNorm: 0, lr: 0, n: 0, optSeconds: 0 };
    for (let it = 0; it < cfg.numIterations; it++) {
      const zero = new Recorder(ctx, 'zero-grads');
      p.optimizer.encodeZeroGrads(zero);
      zero.submit();
      for (let i = 0; i < batches.length; i++) {
        const bt = batches[i];
        const rows = groups[i];
        const rec = new Recorder(ctx, 'policy-forward');
        if (it === 0 && reused) p.backprop.encodeLogprobsSaved(rec, bt, cfg.temperature);
        else p.backprop.encodeLogprobs(rec, bt, p.lora, cfg.temperature, true);
        rec.submit();
        const logpRead = readF32(ctx.device, p.backprop.logp, bt.M); // copies queued now, awaited after the backward is encoded
        const entRead = readF32(ctx.device, p.backprop.entropy, bt.M);
        // the backward encoded while the GPU runs the passes queued before it (held, cut every
        // PASS_CUT dispatches, until dlogp is written)
        const back = new Recorder(ctx, 'backward', { defer: true, cutEvery: PASS_CUT });
        p.backprop.encodeBackward(back, bt, p.lora, p.optimizer.grads, cfg.temperature);
        if (refQueued && !ref) {
          ref = await refQueued;
          tRef = performance.now();
        }
        const [logp, ent] = await Promise.all([logpRead, entRead]);
        if (it === 0) old.push(logp);
        const m = Float32Array.from({ length: bt.M }, (_, k) => mask(rows[Math.floor(k / Tc)], k % Tc));
        const loss = grpoLoss(
          { B: rows.length, T: Tc, logp, oldLogp: it > 0 ? old[i] : null, refLogp: ref ? ref[i] : null, advantages: rows.map((b) => adv.advantages[b]), mask: m },
          { beta: cfg.beta, epsilonLow: cfg.epsilonLow, epsilonHigh: cfg.epsilonHigh, lossType: cfg.lossType, maxCompletionLength: cfg.maxCompletionLength, activeTokens, accumulationSteps: batches.length },
        );
        ctx.device.queue.writeBuffer(p.backprop.dlogp, 0, Float32Array.from(loss.dLogp));
        back.submit();
        acc.loss += loss.loss;
        acc.kl += loss.metrics.klMean ?? 0;
        acc.clipLow += loss.metrics.clipRatioLow;
        acc.clipHigh += loss.metrics.clipRatioHigh;
        acc.clipRegion += loss.metrics.clipRatio;
        let es = 0;
        let en = 0;
        m.forEach((v, k) => { if (v) { es += ent[k]; en++; } });
        acc.entropy += en ? es / en : 0;
        acc.n++;
      }
      // the optimizer queued behind the backward (its encoding overlaps the backward on the GPU);
      // its time is from the backward's end to the grad norm's read-back
      let tOpt = 0;
      const backDone = ctx.device.queue.onSubmittedWorkDone().then(() => { tOpt = performance.now(); });
      const lr = lrAt(step, { schedule: cfg.lrSchedule, lr: cfg.learningRate, warmupRatio: cfg.warmupRatio, totalSteps: cfg.totalSteps });
      const opt = new Recorder(ctx, 'adamw');
      p.optimizer.encodeStep(opt, { lr, beta1: cfg.adamBeta1, beta2: cfg.adamBeta2, eps: cfg.adamEps, weightDecay: cfg.weightDecay, maxGradNorm: cfg.maxGradNorm, step: step * cfg.numIterations + it + 1 });
      opt.submit();
      acc.gradNorm += await p.optimizer.readGradNorm();
      await backDone;
      acc.optSeconds += (performance.now() - tOpt) / 1000;
      acc.lr = lr;
    }
    const tEnd = performance.now();
    const metrics = stepMetrics(scored, adv, gen, lengths, cfg, acc, { t0, tRollout, tRef, tEnd }, ctx);
    const views = texts.map((completion, b) => ({
      prompt: prompts[Math.floor(b / G)].text, completion, total: scored.totals[b],
      rewards: Object.fromEntries(Object.entries(scored.perFunction).map(([k, v]) => [k, v[b]])),
      errors: Object.fromEntries(Object.entries(scored.errors).filter(([, v]) => v[b]).map(([k, v]) => [k, v[b]])),
    }));
    return { step, metrics, samples: views, reusedRollout: reused };
  } finally {
    for (const b of batches) b.destroy();
  }
}

/**
 * Dispatches a command buffer of the training passes holds: the GPU starts on the first while the
 * rest is encoded (reference pass), and part k runs while Dawn records part k + 1 at its submit.
 */
const PASS_CUT = 256;

/**
 * log-probs [micro-batch][M] under the reference model (the adapter off): every pass and its read-back
 * copy queued before this returns (they share Backprop.logp: the queue keeps each copy before the next pass).
 */
function queueRefLogprobs<S>(p: TrainerParts<S>, batches: ReturnType<typeof uploadBatch>[], temperature: number): Promise<Float32Array[]> {
  const out: Promise<Float32Array>[] = [];
  for (const bt of batches) {
    const rec = new Recorder(p.ctx, 'ref-logp', { cutEvery: PASS_CUT });
    p.backprop.encodeLogprobs(rec, bt, null, temperature, false);
    rec.submit();
    out.push(readF32(p.ctx.device, p.backprop.logp, bt.M));
  }
  return Promise.all(out);
}

function meanStdOf(xs: number[]): [number, number] {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const v = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return [mean, Math.sqrt(v)];
}

function stepMetrics(
  scored: ScoredBatch, adv: ReturnType<typeof computeAdvantages>, gen: GenerateResult, lengths: number[], cfg: TrainConfig,
  acc: { loss: number; kl: number; clipLow: number; clipHigh: number; clipRegion: number; entropy: number; gradNorm: number; lr: number; n: number; optSeconds: number },
  t: { t0: number; tRollout: number; tRef: number; tEnd: number }, ctx: GpuContext,
): Record<string, number> {
  const [rMean, rStd] = meanStdOf(scored.totals);
  const metrics: Record<string, number> = {
    reward: rMean,
    reward_std: rStd,
    frac_reward_zero_std: adv.fracRewardZeroStd,
    'completions/mean_length': lengths.reduce((a, b) => a + b, 0) / lengths.length,
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': gen.finished.filter((f) => !f).length / gen.finished.length,
    kl: acc.kl / acc.n,
    'clip_ratio/low_mean': acc.clipLow / acc.n,
    'clip_ratio/high_mean': acc.clipHigh / acc.n,
    'clip_ratio/region_mean': acc.clipRegion / acc.n,
    entropy: acc.entropy / acc.n,
    loss: acc.loss / cfg.numIterations,
    grad_norm: acc.gradNorm / cfg.numIterations,
    learning_rate: acc.lr,
    step_time: (t.tEnd - t.t0) / 1000,
    'time/rollout': (t.tRollout - t.t0) / 1000,
    'time/reference': (t.tRef - t.tRollout) / 1000,
    'time/train': (t.tEnd - t.tRef) / 1000,
    'time/optimizer': acc.optSeconds,
    'tokens_per_second': lengths.reduce((a, b) => a + b, 0) / Math.max(1e-9, (t.tRollout - t.t0) / 1000),
    gpu_memory_bytes: ctx.memory.peak,
  };
  for (const [name, xs] of Object.entries(scored.perFunction)) {
    const [m, s] = meanStdOf(xs);
    metrics[`rewards/${name}/mean`] = m;
    metrics[`rewards/${name}/std`] = s;
  }
  return metrics;
}
