// Global gradient norm and clip scale wrapper (shaders/grad_norm.wgsl): the sum of squares of many
// f32 buffers in two passes (per-buffer partial sums into a small scratch array, then one workgroup),
// leaving [Σx², ‖x‖, clip scale, 0] in a 4-float GPU buffer that the AdamW kernel reads directly.
import gradNormCode from '../../shaders/grad_norm.wgsl?raw';
import sumShared from '../../shaders/wg_sum_shared.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { composeSource } from '../gpu/pipelines';
import { params, type Binding, type Recorder } from '../gpu/encoder';

const WG = 256;
/** the kernel after its workgroup sum: the halving tree on every device, the summation order it always had */
const code = composeSource(sumShared, gradNormCode);
/** most workgroups (partial slots) one buffer gets */
const MAX_WG = 64;
/** elements per thread before a buffer gets another workgroup */
const PER_THREAD = 8;

/** Layout of the 4-float output: [sum of squares, norm, clip scale, 0]. */
export const GRAD_NORM_OUT = { floats: 4, sumSq: 0, norm: 1, scale: 2 } as const;

export interface NormInput {
  buffer: Binding;
  /** f32 elements to include (from the binding's start) */
  n: number;
}

/** Partial slots (workgroups) a buffer of n elements uses. */
function workgroupsFor(n: number): number {
  return Math.min(MAX_WG, Math.max(1, Math.ceil(n / (WG * PER_THREAD))));
}

export class GradNormKernel {
  private constructor(private partial: GPUComputePipeline, private finish: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<GradNormKernel> {
    const [partial, finish] = await Promise.all([
      ctx.pipelines.get('grad_norm', code, { WG }, 'partial_sums'),
      ctx.pipelines.get('grad_norm', code, { WG }, 'finish'),
    ]);
    return new GradNormKernel(partial, finish);
  }

  /** f32 elements the `partial` scratch buffer needs for buffers of these sizes. */
  static partialSize(sizes: readonly number[]): number {
    return sizes.reduce((s, n) => s + workgroupsFor(n), 0);
  }

  /**
   * xs: f32[n_k] each → out f32[4] = [Σ_k Σ x², √Σ, min(1, maxNorm / (√Σ + 1e-6)), 0] (scale 1 when
   * maxNorm ≤ 0); partial f32[partialSize(n_k)] is scratch. One dispatch per buffer plus one.
   * A non-finite norm gives a non-finite or undefined scale: check the norm before trusting the step.
   */
  encode(rec: Recorder, xs: readonly NormInput[], partial: Binding, out: Binding, maxNorm: number): void {
    if (xs.length === 0) throw new Error('grad_norm needs at least one buffer');
    let offset = 0;
    for (const x of xs) {
      if (!(x.n > 0)) throw new Error(`grad_norm: a buffer of ${x.n} elements; pass only non-empty buffers`);
      const nwg = workgroupsFor(x.n);
      rec.dispatch(this.partial, params([['u32', x.n], ['u32', offset], ['f32', 0]]), [x.buffer, partial, null], [nwg]);
      offset += nwg;
    }
    rec.dispatch(this.finish, params([['u32', offset], ['u32', 0], ['f32', maxNorm > 0 ? maxNorm : 0]]), [null, partial, out], [1]);
  }
}
