// Every kernel the Qwen2 engine uses, created once per GPU context.
import type { GpuContext } from '../gpu/device';
import { AddKernel } from '../kernels/add';
import { AttentionKernel } from '../kernels/attention';
import { AttentionDecodeKernel } from '../kernels/attention_decode';
import { AttentionGqaKernel } from '../kernels/attention_gqa';
import { EmbedKernel } from '../kernels/embed';
import { MatmulKernel } from '../kernels/matmul';
import { MatmulF32Kernel } from '../kernels/matmul_f32';
import { RmsNormKernel } from '../kernels/rmsnorm';
import { RopeKernel } from '../kernels/rope';
import { RopeKvKernel } from '../kernels/rope_kv';
import { SampleKernel } from '../kernels/sample';
import { ScatterRowsKernel } from '../kernels/scatter_rows';
import { SwigluKernel } from '../kernels/swiglu';

export interface EngineKernels {
  add: AddKernel;
  attention: AttentionKernel;
  attentionGqa: AttentionGqaKernel;
  attentionDecode: AttentionDecodeKernel;
  embed: EmbedKernel;
  matmul: MatmulKernel;
  gemm: MatmulF32Kernel;
  rmsnorm: RmsNormKernel;
  rope: RopeKernel;
  ropeKv: RopeKvKernel;
  sample: SampleKernel;
  /** saves decode rows into the training layout (Engine.encodeForward's RowSave) */
  scatterRows: ScatterRowsKernel;
  swiglu: SwigluKernel;
  /**
   * Decode (GEMV-sized T) fusions: the RMSNorms into the q|k|v and gate|up GEMVs, the SwiGLU into the
   * down GEMVs — fewer dispatches (≈ 7 µs of GPU time each, and CPU time), more work per GEMV (each
   * lane group sums the squares of, or takes the sigmoids of, all of x). Defaults by measurement
   * (bench/RESULTS.md, 2026-12-05 sixth session).
   */
  decodeFusion: DecodeFusion;
}

/**
 * The most rows a decode step may have for each fusion to apply (0: never, Infinity: always): `norm`
 * the RMSNorms into the GEMVs that read them (q|k|v, and gate|up unless `normMlp` says otherwise),
 * `swiglu` the SwiGLU into the down GEMV's x reads (where gate|up cannot store it); `rope`: a decode
 * step's attention rotates q and k and writes the token's k and v to the cache itself (no rope_kv).
 */
export interface DecodeFusion {
  norm: number;
  normMlp?: number;
  swiglu: number;
  rope: boolean;
  /** the most rows a decode step may have for its attention in one dispatch, RoPE and the cache write inside (attention_decode.ts, where the device fits it; 0 or absent: never — the split kernel's two) */
  attentionOne?: number;
}

/**
 * H100, the step's pass GPU-timed: the norms fused were 13% / 4% faster at 1 / 8 rows (LoRA 7% / 3%),
 * at 16 rows 2–5% slower (with the 4-weight step there; seventh session); SwiGLU fused into the down
 * GEMV's x reads is 17–24% slower at 8–16 rows (its lane groups each take the sigmoids of all 8,960
 * gate values) but at 1 row as fast (1.961–1.969 ms against 1.977–1.986) with 28 dispatches less.
 * Since the thirteenth session the gate|up GEMV stores silu(gate)·up itself wherever it can
 * (MatmulKernel.swigluOutFor), which beats both (G = 1 step pass 1.955 → 1.924 ms, LoRA 2.502 →
 * 2.415; run 5): `swiglu` applies only where it cannot.
 * At 16 rows the q|k|v GEMV takes its norm and gate|up keeps the norm kernel (`normMlp`; fourteenth
 * session, G = 16 step pass 5.037 → 4.888 ms, LoRA 6.104 → 6.052): gate|up's 2,240 workgroups would
 * each reread all 16 rows of x, q|k|v's 256 do it cheaply.
 * The norm fusion also needs MatmulKernel.normFusable (9 storage buffers a shader).
 * The attention in one dispatch (attentionOne, twenty-ninth session: a key's dot by a subgroup's lanes)
 * against the split one and its merge, H100 step pass (runs 1–2): G = 1 1.722 → 1.619 ms (LoRA 2.198 →
 * 2.101), G = 8 2.883 → 2.737 (3.528 → 3.321), G = 16 2.956 → 2.817 (3.523 → 3.388). A later form of the
 * walk (the own-key branch between the dots) was slower (G = 16 rollout 5,531 → 4,702–4,731 tok/s) and
 * the walk went back to the measured order, but the device could not be had again to time the rollouts
 * with it: off (0) until `bench-rollout --choices attone` and rollouts confirm it.
 */
export const DECODE_FUSION: DecodeFusion = { norm: 16, normMlp: 8, swiglu: 1, rope: true, attentionOne: 0 };

const cache = new WeakMap<GpuContext, Promise<EngineKernels>>();

export function engineKernels(ctx: GpuContext): Promise<EngineKernels> {
  let k = cache.get(ctx);
  if (!k) {
    k = (async () => {
      const [add, attention, attentionGqa, attentionDecode, embed, ropeKv, matmul, gemm, rmsnorm, rope, sample, scatterRows, swiglu] = await Promise.all([
        AddKernel.create(ctx), AttentionKernel.create(ctx), AttentionGqaKernel.create(ctx), AttentionDecodeKernel.create(ctx), EmbedKernel.create(ctx), RopeKvKernel.create(ctx),
        MatmulKernel.create(ctx), MatmulF32Kernel.create(ctx), RmsNormKernel.create(ctx), RopeKernel.create(ctx),
        SampleKernel.create(ctx), ScatterRowsKernel.create(ctx), SwigluKernel.create(ctx),
      ]);
      return { add, attention, attentionGqa, attentionDecode, embed, matmul, gemm, rmsnorm, rope, ropeKv, sample, scatterRows, swiglu, decodeFusion: { ...DECODE_FUSION } };
    })();
    cache.set(ctx, k);
  }
  return k;
}
