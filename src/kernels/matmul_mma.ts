// The decode matmul of q4 and bf16 weights on subgroup matrices (tensor cores: Dawn's
// chromium-experimental-subgroup-matrix with f16 inputs and f32 results, 16 × 16 × 16):
// shaders/matmul_mma.wgsl with a decode per format (mma_w_q4.wgsl, mma_w_bf16.wgsl: the LM head). Where
// the GEMVs spend 16 multiply-adds a weight at 16 rows of x, this
// decodes each weight once (to f16) and leaves the products to the matrix units. What a device must
// have (mmaSupport), its layout (mmaTiles) and its WGSL; MatmulKernel (matmul.ts) dispatches it.
import mmaBody from '../../shaders/matmul_mma.wgsl?raw';
import mmaQ4 from '../../shaders/mma_w_q4.wgsl?raw';
import mmaBf16 from '../../shaders/mma_w_bf16.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import type { Weight } from './matmul';

/** The directives a subgroup-matrix module starts with (its offsets come from workgroup and subgroup ids: uniform per subgroup by construction, which Tint's analysis cannot see). */
export const MMA_ENABLE = 'diagnostic(off, chromium.subgroup_matrix_uniformity);\nenable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;';

export { mmaBody };

/** Each weight format's decode (w_setup, w_load, put_w), composed after its reader (weights_q4_wide.wgsl, weights_bf16.wgsl). */
export const MMA_DECODES: Record<'q4' | 'bf16', string> = { q4: mmaQ4, bf16: mmaBf16 };

/** The kernel's X_NORM snippets: the RMSNorm applied as x is staged (binds the norm weight, matmul_epilogue.wgsl's normw), or not (binds nothing more). */
export const MMA_NORM = 'const X_NORM = true;\nfn norm_g(i: u32) -> vec4<f32> { return normw[i]; }';
export const MMA_NO_NORM = 'const X_NORM = false;\nfn norm_g(i: u32) -> vec4<f32> { return vec4(1.0); }';

/** Workgroup memory the kernel declares: x and W chunks (2 × 9216 f16), partial results (2048 f32), the code-byte table (256 u32). */
export const MMA_WORKGROUP_BYTES = 2 * 9216 * 2 + 2048 * 4 + 256 * 4;

/** Tile counts a workgroup may take (the WGSL's NT: 8 subgroups split into NT tiles × 8 / NT K-phases). */
export const MMA_TILES_OPTIONS = [1, 2, 4, 8] as const;

/** Why the subgroup-matrix matmul cannot run on this device ('' where it can). */
export function mmaSupport(ctx: GpuContext): string {
  if (!ctx.features.subgroupMatrix) return 'no chromium-experimental-subgroup-matrix';
  if (!ctx.features.f16) return 'no shader-f16';
  const cfgs = (ctx.adapter.subgroupMatrixConfigs ?? []) as Array<Record<string, unknown>>;
  if (!cfgs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16)) return 'no 16×16×16 f16→f32 subgroup-matrix config';
  if (ctx.subgroupMinSize !== 32 || ctx.subgroupMaxSize !== 32) return `subgroups of ${ctx.subgroupMinSize}–${ctx.subgroupMaxSize} lanes, not always 32`;
  const wg = ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (wg < MMA_WORKGROUP_BYTES) return `${wg} bytes of workgroup memory, needs ${MMA_WORKGROUP_BYTES}`;
  return '';
}

/** Whether weight w has the shape the kernel takes: q4 or bf16 (the LM head), K a multiple of 64 (whole q4 scale blocks a chunk); with `swiglu` an even N. */
export function mmaShapeOk(w: Weight, swiglu: boolean): boolean {
  return (w.format === 'q4' || w.format === 'bf16') && w.K % 64 === 0 && (!swiglu || w.N % 2 === 0);
}

/**
 * 16-row tiles of W a workgroup (NT) for a weight of N rows: 2 (x staged once for two tiles) where that
 * still gives MMA_MIN_WORKGROUPS workgroups, else 1; with the SwiGLU store at least 2 (a gate tile and its
 * up tile). 4 and 8 walk 2–4× longer a subgroup: slower on every weight measured.
 */
export function mmaTiles(N: number, swiglu: boolean): number {
  const fit = Math.ceil(N / 32) >= MMA_MIN_WORKGROUPS ? 2 : 1;
  return swiglu ? Math.max(2, fit) : fit;
}

/** Workgroups the default layout aims for: gate|up (17,920 rows) takes 2 tiles a workgroup (H100, streamed at 16 rows: 39.8 µs against 41.0 with 4 and 45.9 with 1), the 1,536–2,048-row weights 1 (with 2: 30–50% slower). */
export const MMA_MIN_WORKGROUPS = 512;

/** The layout constants of a pipeline with NT tiles a workgroup: its x chunks' workgroup memory (KS = 8 / NT chunks of 16 rows × 72 f16: less for more tiles, so more workgroups fit an SM) */
export function mmaConstants(NT: number): { NT: number; X_VEC4: number } {
  return { NT, X_VEC4: (8 / NT) * 16 * 18 };
}

/** Workgroups of a dispatch with NT tiles a workgroup (the SwiGLU store: NT / 2 gate tiles and their up tiles). */
export function mmaWorkgroups(N: number, NT: number, swiglu: boolean): number {
  return swiglu ? Math.ceil(N / 2 / (16 * (NT / 2))) : Math.ceil(N / (16 * NT));
}
