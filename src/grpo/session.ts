// A training session: everything one GRPO run holds on the GPU (engine for rollouts, backprop,
// LoRA adapter, optimizer) plus its prompt source, reward scorer, config and history, and the
// checkpoint state that lets a reload or a lost device resume exactly where the run was.
// Shared by the browser worker and the headless CLI; storage of checkpoints is the caller's.
// A step abandoned during its rollout (StepAbandoned) is redone with the same prompts.
import type { GpuContext } from '../gpu/device';
import { writeView } from '../gpu/buffers';
import { allocLora, createLora, destroyLora, type LoraAdapter, type LoraBaseShape } from '../lora/adapter';
import { LoraOptimizer } from '../lora/optimizer';
import { readLoraTensors } from '../lora/peft';
import { targetRows } from '../lora/adapter';
import { TARGET_SLOT, type LoraTarget } from '../lora/targets';
import { Engine } from '../model/engine';
import { Backprop } from '../model/backprop';
import { maxLayoutRows } from '../model/train-layout';
import type { ModelWeights } from '../model/weights';
import { assertValidConfig, type TrainConfig } from './config';
import { makeScorer, type CustomScorer, type RewardSample, type RewardSpec } from './rewards';
import { createPromptSource, type PromptSource, type PromptState, type PromptTokenizer, type TaskSpec } from './tasks';
import { StepAbandoned, trainStep, type PromptItem, type StepControl, type StepResult } from './trainer';

export interface SessionTokenizer extends PromptTokenizer {
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  eosTokenIds: number[];
}

export interface SessionSpec {
  config: TrainConfig;
  task: TaskSpec;
  rewards: RewardSpec[];
  /** the adapter a run continued from (its name), when it did not start from a fresh one */
  startFrom?: string;
}

/** What a checkpoint holds (tensors by PEFT key and optimizer key; the rest is JSON). */
export interface SessionCheckpoint {
  step: number;
  adapter: Map<string, { data: Float32Array; shape: number[] }>;
  optimizer: { step: number; tensors: Map<string, Float32Array> };
  rng: PromptState;
  spec: SessionSpec;
  metrics: Record<string, number>[];
}

export function loraBase(w: ModelWeights): LoraBaseShape {
  const c = w.config;
  return { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim };
}

export class TrainingSession {
  step = 0;
  readonly history: Record<string, number>[] = [];
  private scorer: ReturnType<typeof makeScorer>;
  /** prompts drawn by an abandoned step (redrawn first) and the RNG state from before them */
  private replay: { items: PromptItem<RewardSample>[]; rng: PromptState } | null = null;

  private constructor(
    readonly ctx: GpuContext, readonly weights: ModelWeights, readonly tok: SessionTokenizer, public spec: SessionSpec,
    readonly engine: Engine, readonly backprop: Backprop, readonly lora: LoraAdapter, readonly optimizer: LoraOptimizer,
    private prompts: PromptSource, private custom: CustomScorer | null,
  ) {
    this.scorer = makeScorer(spec.rewards, custom);
  }

  /**
   * A new run, or (with `ckpt`) one resumed from a checkpoint. `init`: PEFT-keyed A/B tensors a new
   * run starts from instead of a fresh adapter (continue training an imported or earlier adapter;
   * the config's r / alpha / targets must be that adapter's; the optimizer starts fresh).
   */
  static async create(ctx: GpuContext, weights: ModelWeights, tok: SessionTokenizer, spec: SessionSpec, opts: { custom?: CustomScorer | null; ckpt?: SessionCheckpoint; init?: Map<string, { data: Float32Array; shape: number[] }> } = {}): Promise<TrainingSession> {
    const cfg = assertValidConfig(spec.config);
    const G = cfg.numGenerations;
    const rows = cfg.promptsPerStep * G;
    const Ts = cfg.maxPromptLength + cfg.maxCompletionLength;
    const perMicro = Math.ceil(rows / Math.max(1, cfg.gradientAccumulationSteps));
    const engine = await Engine.create(ctx, weights, { maxTokens: Math.max(rows, cfg.maxPromptLength), maxPositions: Ts, maxRank: cfg.loraR });
    const maxTokens = maxLayoutRows(rows, perMicro, G, cfg.maxPromptLength, cfg.maxCompletionLength);
    const backprop = await Backprop.create(ctx, weights, { maxTokens, maxSeqLen: Ts, maxSeqs: perMicro, maxRows: perMicro * cfg.maxCompletionLength, maxRank: cfg.loraR });
    const base = loraBase(weights);
    const loraOpts = { r: cfg.loraR, alpha: cfg.loraAlpha, targets: cfg.loraTargets as LoraTarget[] };
    const from = opts.ckpt?.adapter ?? opts.init;
    const lora = from ? allocLora(ctx, base, loraOpts) : createLora(ctx, base, { ...loraOpts, seed: cfg.seed });
    if (from) writeAdapterTensors(ctx, lora, from);
    const optimizer = await LoraOptimizer.create(ctx, lora);
    if (opts.ckpt) optimizer.loadState(opts.ckpt.optimizer);
    const prompts = createPromptSource(spec.task, tok, opts.ckpt?.rng);
    const s = new TrainingSession(ctx, weights, tok, spec, engine, backprop, lora, optimizer, prompts, opts.custom ?? null);
    if (opts.ckpt) {
      s.step = opts.ckpt.step;
      s.history.push(...opts.ckpt.metrics);
    }
    return s;
  }

  get done(): boolean {
    return this.step >= this.spec.config.totalSteps;
  }

  /** Replaces the reward functions between steps (the run goes on). */
  updateRewards(rewards: RewardSpec[]): void {
    this.scorer = makeScorer(rewards, this.custom);
    this.spec = { ...this.spec, rewards };
  }

  /** the rollout saves the layers' inputs for the first iteration (TrainerParts.reuseRollout; benchmarks turn it off) */
  reuseRollout = true;

  /** One optimizer step; throws StepAbandoned when control stops it during the rollout. */
  async runStep(control: StepControl = {}): Promise<StepResult> {
    const before = this.replay?.rng ?? this.prompts.state();
    let drawn: PromptItem<RewardSample>[] = [];
    const draw = (n: number): PromptItem<RewardSample>[] => {
      const again = this.replay?.items;
      this.replay = null;
      drawn = again?.length === n ? again : this.prompts.next(n);
      return drawn;
    };
    const r = await trainStep<RewardSample>({
      ctx: this.ctx, engine: this.engine, backprop: this.backprop, lora: this.lora, optimizer: this.optimizer,
      nextPrompts: draw,
      decode: (ids) => this.tok.decode(ids.filter((t) => !this.tok.eosTokenIds.includes(t)), { skipSpecialTokens: true }),
      score: (c, s) => this.scorer(c, s),
      eosIds: this.tok.eosTokenIds,
      seed: this.spec.config.seed,
      reuseRollout: this.reuseRollout,
    }, this.spec.config, this.step, control).catch((e: unknown) => {
      // nothing but the prompt stream moved: the redone step draws the same prompts
      if (e instanceof StepAbandoned) this.replay = { items: drawn, rng: before };
      throw e;
    });
    this.step++;
    this.history.push({ step: this.step, ...r.metrics });
    return r;
  }

  /** Everything needed to resume (downloads adapter and optimizer state from the GPU). */
  async checkpoint(): Promise<SessionCheckpoint> {
    const opt = await this.optimizer.state();
    return { step: this.step, adapter: await readLoraTensors(this.ctx, this.lora), optimizer: opt, rng: this.replay?.rng ?? this.prompts.state(), spec: this.spec, metrics: [...this.history] };
  }

  /** Frees the GPU state; `keepAdapter` leaves the LoRA adapter alive (its new owner frees it). */
  destroy(opts: { keepAdapter?: boolean } = {}): void {
    this.optimizer.destroy();
    if (!opts.keepAdapter) destroyLora(this.ctx, this.lora);
    this.backprop.destroy();
    this.engine.destroy();
  }
}

/** Writes PEFT-keyed A/B tensors into a zeroed adapter's fused buffers. */
export function writeAdapterTensors(ctx: GpuContext, a: LoraAdapter, tensors: Map<string, { data: Float32Array; shape: number[] }>): void {
  for (const [key, t] of tensors) {
    const m = /layers\.(\d+)\.\w+\.(\w+_proj)\.lora_([AB])\.weight$/.exec(key);
    if (!m || !(m[2] in TARGET_SLOT)) throw new Error(`checkpoint tensor ${key} is not a LoRA tensor`);
    const tr = targetRows(a.base, m[2] as LoraTarget);
    const lin = a.layers[Number(m[1])][tr.fused];
    if (m[3] === 'A') writeView(ctx.device, lin.A, tr.slice * a.r * tr.in * 4, t.data);
    else writeView(ctx.device, lin.B, tr.row0 * a.r * 4, t.data);
  }
}
