// AdamW for a LoRA adapter on the GPU: gradient buffers shaped like the adapter's fused A/B buffers,
// first/second moments, and one step = global grad norm → clip scale → AdamW over every trained
// buffer, encoded into the caller's Recorder with no readback (the norm stays on the GPU until
// readGradNorm() is asked for it, for metrics). Only fused weights with a LoRA target are stepped;
// their untargeted slices get exactly zero gradients (A and B slices are zero) and so stay zero.
import type { GpuContext } from '../gpu/device';
import { readF32, writeView } from '../gpu/buffers';
import type { Recorder } from '../gpu/encoder';
import { AdamWKernel, adamwConstants } from '../kernels/adamw';
import { GRAD_NORM_OUT, GradNormKernel } from '../kernels/grad_norm';
import { isActive, type LoraAdapter } from './adapter';
import type { FusedName } from './targets';

/** Gradients of one fused weight: dA f32[S·R, K], dB f32[N, R] (the adapter's A and B shapes). */
export interface LoraGradPair {
  A: GPUBuffer;
  B: GPUBuffer;
}

export type LoraGradLayer = Record<FusedName, LoraGradPair>;

export interface OptimizerStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global grad norm to this (torch clip_grad_norm_); ≤ 0: no clipping (norm still computed) */
  maxGradNorm: number;
  /** this update's step number t ≥ 1 (bias corrections); default: the previous step + 1 */
  step?: number;
}

/** Checkpoint contents: steps taken and the moments, keyed `layers.{l}.{fused}.{A|B}.{m|v}`. */
export interface OptimizerState {
  step: number;
  tensors: Map<string, Float32Array>;
}

export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

interface Slot {
  key: string;
  param: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  n: number;
}

const FUSED: FusedName[] = ['qkv', 'o', 'gateUp', 'down'];

export class LoraOptimizer {
  /** steps taken so far (torch's `step`) */
  step = 0;

  private constructor(
    private ctx: GpuContext,
    /** per layer, per fused weight (all of them, like adapter.layers): the backward writes here */
    readonly grads: LoraGradLayer[],
    private slots: Slot[],
    private partial: GPUBuffer,
    private norm: GPUBuffer,
    private gradNorm: GradNormKernel,
    private adamw: AdamWKernel,
  ) {}

  static async create(ctx: GpuContext, adapter: LoraAdapter): Promise<LoraOptimizer> {
    const [gradNorm, adamw] = await Promise.all([GradNormKernel.create(ctx), AdamWKernel.create(ctx)]);
    const m = ctx.memory;
    const grads: LoraGradLayer[] = [];
    const slots: Slot[] = [];
    adapter.layers.forEach((layer, l) => {
      const g = {} as LoraGradLayer;
      for (const f of FUSED) {
        const lin = layer[f];
        g[f] = { A: m.create(`lora.${l}.${f}.dA`, lin.A.size), B: m.create(`lora.${l}.${f}.dB`, lin.B.size) };
        if (!isActive(lin)) continue;
        for (const which of ['A', 'B'] as const) {
          const bytes = lin[which].size;
          const key = `layers.${l}.${f}.${which}`;
          slots.push({ key, param: lin[which], grad: g[f][which], m: m.create(`${key}.m`, bytes), v: m.create(`${key}.v`, bytes), n: bytes / 4 });
        }
      }
      grads.push(g);
    });
    if (slots.length === 0) throw new OptimizerStateError('the adapter has no LoRA target to train', 'choose at least one target module');
    const partial = m.create('optimizer.partial', GradNormKernel.partialSize(slots.map((s) => s.n)) * 4);
    const norm = m.create('optimizer.norm', GRAD_NORM_OUT.floats * 4);
    return new LoraOptimizer(ctx, grads, slots, partial, norm, gradNorm, adamw); // WebGPU buffers start zeroed
  }

  /** Zeroes every gradient buffer (before the first micro-batch of a step accumulates into them). */
  encodeZeroGrads(rec: Recorder): void {
    for (const g of this.grads) for (const f of FUSED) {
      this.adamw.encodeZero(rec, g[f].A, g[f].A.size / 4);
      this.adamw.encodeZero(rec, g[f].B, g[f].B.size / 4);
    }
  }

  /** Global grad norm, clip scale and one AdamW update of every trained buffer; no readback. */
  encodeStep(rec: Recorder, s: OptimizerStep): void {
    const t = s.step ?? this.step + 1;
    const h = { lr: s.lr, beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, step: t };
    adamwConstants(h); // validates before anything is encoded
    this.gradNorm.encode(rec, this.slots.map((x) => ({ buffer: x.grad, n: x.n })), this.partial, this.norm, s.maxGradNorm);
    for (const x of this.slots) this.adamw.encode(rec, { param: x.param, grad: x.grad, m: x.m, v: x.v, scale: this.norm }, x.n, h);
    this.step = t;
  }

  /** The global grad norm (before clipping) of the last step submitted. */
  async readGradNorm(): Promise<number> {
    return (await readF32(this.ctx.device, this.norm, 1, GRAD_NORM_OUT.norm))[0];
  }

  /** Downloads m and v of every trained buffer (for checkpoints). */
  async state(): Promise<OptimizerState> {
    const tensors = new Map<string, Float32Array>();
    for (const x of this.slots) {
      tensors.set(`${x.key}.m`, await readF32(this.ctx.device, x.m));
      tensors.set(`${x.key}.v`, await readF32(this.ctx.device, x.v));
    }
    return { step: this.step, tensors };
  }

  /** Uploads a state() snapshot taken from an optimizer over an adapter of the same shape and targets. */
  loadState(s: OptimizerState): void {
    const want = new Set(this.slots.flatMap((x) => [`${x.key}.m`, `${x.key}.v`]));
    const extra = [...s.tensors.keys()].filter((k) => !want.has(k));
    if (extra.length || !(Number.isInteger(s.step) && s.step >= 0)) {
      throw new OptimizerStateError(`optimizer state does not fit: step ${s.step}, unknown tensors ${extra.slice(0, 4).join(', ') || 'none'}`,
        'the checkpoint was saved for another model, rank or target set; start the optimizer fresh');
    }
    for (const x of this.slots) {
      for (const which of ['m', 'v'] as const) {
        const key = `${x.key}.${which}`;
        const data = s.tensors.get(key);
        if (!data || data.length !== x.n) {
          throw new OptimizerStateError(`optimizer state ${key}: ${data ? `${data.length} values` : 'missing'}, expected ${x.n}`,
            'the checkpoint was saved for another model, rank or target set; start the optimizer fresh');
        }
      }
    }
    for (const x of this.slots) {
      writeView(this.ctx.device, x.m, 0, s.tensors.get(`${x.key}.m`) as Float32Array);
      writeView(this.ctx.device, x.v, 0, s.tensors.get(`${x.key}.v`) as Float32Array);
    }
    this.step = s.step;
  }

  /** Frees gradients, moments and scratch (not the adapter). */
  destroy(): void {
    const m = this.ctx.memory;
    for (const g of this.grads) for (const f of FUSED) { m.destroy(g[f].A); m.destroy(g[f].B); }
    for (const x of this.slots) { m.destroy(x.m); m.destroy(x.v); }
    m.destroy(this.partial);
    m.destroy(this.norm);
  }
}
