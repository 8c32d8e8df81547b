// Every kernel the Qwen2 engine uses, created once per GPU context.
import type { GpuContext } from '../gpu/device';
import { AddKernel } from '../kernels/add';
import { AttentionKernel } from '../kernels/attention';
import { AttentionGqaKernel } from '../kernels/attention_gqa';
import { EmbedKernel } from '../kernels/embed';
import { MatmulKernel } from '../kernels/matmul';
import { MatmulF32Kernel } from '../kernels/matmul_f32';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { RopeKernel } from '../kernels/rope';
import { RopeKvKernel } from '../kernels/rope_kv';
import { SampleKernel } from '../kernels/sample';
import { SwigluKernel } from '../kernels/swiglu';

export interface EngineKernels {
  add: AddKernel;
  attention: AttentionKernel;
  attentionGqa: AttentionGqaKernel;
  embed: EmbedKernel;
  matmul: MatmulKernel;
  gemm: MatmulF32Kernel;
  rmsnorm: RmsNormKernel;
  rope: RopeKernel;
  ropeKv: RopeKvKernel;
  sample: SampleKernel;
  swiglu: SwigluKernel;
  /**
   * Decode (GEMV-sized T) fusions: the RMSNorms into the q|k|v and gate|up GEMVs, the SwiGLU into the
   * down GEMVs — fewer dispatches (CPU time per step), more work per GEMV (each lane group redoes
   * the norm sums / sigmoids of all of x). Defaults by measurement (bench/RESULTS.md).
   */
  decodeFusion: DecodeFusion;
}

export interface DecodeFusion { norm: boolean; swiglu: boolean }

const cache = new WeakMap<GpuContext, Promise<EngineKernels>>();

export function engineKernels(ctx: GpuContext): Promise<EngineKernels> {
  let k = cache.get(ctx);
  if (!k) {
    k = (async () => {
      const [add, attention, attentionGqa, embed, ropeKv, matmul, gemm, rmsnorm, rope, sample, swiglu] = await Promise.all([
        AddKernel.create(ctx), AttentionKernel.create(ctx), AttentionGqaKernel.create(ctx), EmbedKernel.create(ctx), RopeKvKernel.create(ctx),
        MatmulKernel.create(ctx), MatmulF32Kernel.create(ctx), RmsNormKernel.create(ctx), RopeKernel.create(ctx),
        SampleKernel.create(ctx), SwigluKernel.create(ctx),
      ]);
      return { add, attention, attentionGqa, embed, matmul, gemm, rmsnorm, rope, ropeKv, sample, swiglu, decodeFusion: { norm: false, swiglu: false } };
    })();
    cache.set(ctx, k);
  }
  return k;
}
