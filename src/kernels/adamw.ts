// AdamW wrapper (shaders/adamw.wgsl): one torch.optim.AdamW update of one f32 parameter buffer, the
// gradient scaled first by a clip factor read from a GPU buffer (grad_norm's output, or any buffer
// holding 1), so norm → clip → update needs no readback. Bias corrections are computed here in f64.
import code from '../../shaders/adamw.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { grid1d } from './grid';
import { GRAD_NORM_OUT } from './grad_norm';

export interface AdamWUpdate {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** this update's step number t ≥ 1 (torch's step after its increment), for the bias corrections */
  step: number;
}

export interface AdamWBindings {
  /** f32[n] each; param, m and v are updated in place, grad is only read */
  param: Binding;
  grad: Binding;
  m: Binding;
  v: Binding;
  /** f32[≥ scaleAt + 1]: the gradient multiplier at index scaleAt (grad_norm's out: index 2) */
  scale: Binding;
}

/** The kernel's derived constants: decay = 1 − lr·wd, stepSize = lr / (1 − β1^t), sqrtBc2 = √(1 − β2^t). */
export function adamwConstants(h: AdamWUpdate): { decay: number; stepSize: number; sqrtBc2: number } {
  const ok = Number.isInteger(h.step) && h.step >= 1 && h.lr >= 0 && h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1 && h.eps > 0 && h.weightDecay >= 0;
  if (!ok) {
    throw new Error(`AdamW settings out of range: step ${h.step}, lr ${h.lr}, beta1 ${h.beta1}, beta2 ${h.beta2}, eps ${h.eps}, weight decay ${h.weightDecay}; ` +
      'need an integer step ≥ 1, lr ≥ 0, 0 ≤ beta < 1, eps > 0, weight decay ≥ 0');
  }
  return { decay: 1 - h.lr * h.weightDecay, stepSize: h.lr / (1 - h.beta1 ** h.step), sqrtBc2: Math.sqrt(1 - h.beta2 ** h.step) };
}

export class AdamWKernel {
  private constructor(private update: GPUComputePipeline, private zeroes: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<AdamWKernel> {
    const [update, zeroes] = await Promise.all([
      ctx.pipelines.get('adamw', code, {}, 'main'),
      ctx.pipelines.get('adamw', code, {}, 'zero'),
    ]);
    return new AdamWKernel(update, zeroes);
  }

  /** param, grad, m, v f32[n], scale f32[≥ scaleAt+1] → param, m, v updated in place */
  encode(rec: Recorder, b: AdamWBindings, n: number, h: AdamWUpdate, scaleAt: number = GRAD_NORM_OUT.scale): void {
    const c = adamwConstants(h);
    const u = params([
      ['u32', n], ['f32', h.beta1], ['f32', h.beta2], ['f32', 1 - h.beta1], ['f32', 1 - h.beta2],
      ['f32', c.decay], ['f32', c.stepSize], ['f32', c.sqrtBc2], ['f32', h.eps], ['u32', scaleAt],
    ]);
    rec.dispatch(this.update, u, [b.param, b.grad, b.m, b.v, b.scale], grid1d(Math.ceil(n / 256)));
  }

  /** grad f32[n] ← 0 */
  encodeZero(rec: Recorder, grad: Binding, n: number): void {
    const u = params([['u32', n], ...Array.from({ length: 9 }, (): ['f32', number] => ['f32', 0])]); // the shared Params block: 40 bytes
    rec.dispatch(this.zeroes, u, [null, grad], grid1d(Math.ceil(n / 256)));
  }
}
