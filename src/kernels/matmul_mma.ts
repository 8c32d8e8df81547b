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

/** The q4 decode's code-byte table (MMA_DECODE 0: lut2, 1 KiB of workgroup memory), or none (the shuffle decodes: a table nobody reads would still be allocated). */
export const MMA_Q4_LUT = `var<workgroup> lut2: array<u32, 256>; // code byte b → the f16 pair (codebook[b & 15], codebook[b >> 4])
fn lut_fill(lid: u32) { for (var b = lid; b < 256u; b += WG) { lut2[b] = pack2x16float(vec2(codebook[b & 15u], codebook[b >> 4u])); } }
fn lut_pair(b: u32) -> vec2<f16> { return bitcast<vec2<f16>>(lut2[b]); }`;
export const MMA_Q4_NO_LUT = 'fn lut_fill(lid: u32) {}\nfn lut_pair(b: u32) -> vec2<f16> { return vec2<f16>(); }';

/** Weights a chunk (KC: 64, one q4 scale block; 32, half the x and W chunks' workgroup memory) and how the partial results are added (RS_ROUNDS: 0 all at once, 1 a K-phase a round, 2 a subgroup a round). */
export type MmaChunk = 32 | 64;
export type MmaRounds = 0 | 1 | 2;
/** The q4 decode (MMA_DECODE): the code-byte table (0), subgroup shuffles in loops (1) or word by word (2), word by word from the codebook buffer (3). */
export type MmaDecode = 0 | 1 | 2 | 3;
export const MMA_CHUNK_OPTIONS = [32, 64] as const;
export const MMA_ROUNDS_OPTIONS = [0, 1, 2] as const;

/** Workgroup memory a layout declares (bytes): x chunks [KS][16][KC + 8] and W chunks [SGS][16][KC + 8] in f16, partial results (f32: SGS, NT or 1 times 256), the q4 code-byte table where the decode reads one. */
export function mmaWorkgroupBytes(NT: number, KC: MmaChunk = 64, rounds: MmaRounds = 0, lut = false, SGS: MmaSubgroups = 8): number {
  const c = mmaConstants(NT, KC, rounds, SGS);
  return (c.X_VEC4 + c.CHUNK_VEC4) * 8 + c.RESULTS_F32 * 4 + (lut ? 1024 : 0);
}

/**
 * Workgroup memory the smallest layout of every tile count needs at most (the results a subgroup a round,
 * 32-weight chunks up to 4 tiles, the table: 22,784 bytes at 8 tiles); what mmaSupport asks of a device. Where
 * the kernel's layout does not fit a device (32 KiB: D3D12's limit, many adapters'), it takes that one (mmaFitLayout).
 */
export const MMA_MIN_WORKGROUP_BYTES = Math.max(...[1, 2, 4, 8].map((nt) => mmaWorkgroupBytes(nt, nt <= 4 ? 32 : 64, 2, true)));

/** The layout for NT tiles: KC and rounds as asked where they fit `limit` bytes of workgroup memory, else the smallest (32-weight chunks up to SGS / 2 tiles, the results a subgroup a round). */
export function mmaFitLayout(NT: number, KC: MmaChunk, rounds: MmaRounds, lut: boolean, limit: number, SGS: MmaSubgroups = 8): { KC: MmaChunk; rounds: MmaRounds } {
  if (mmaWorkgroupBytes(NT, KC, rounds, lut, SGS) <= limit) return { KC, rounds };
  return { KC: NT <= SGS / 2 ? 32 : 64, rounds: 2 };
}

/** Tile counts a workgroup may take (the WGSL's NT: SGS subgroups split into NT tiles × SGS / NT K-phases; at most SGS). */
export const MMA_TILES_OPTIONS = [1, 2, 4, 8] as const;

/**
 * Subgroups a workgroup (the WGSL's SGS): 8 (256 threads, a row of x and of the results a thread) or 4
 * (128 threads, two rows a thread, each tile's K split over half as many subgroups). Why 4: an H100 SM
 * runs one 256-thread workgroup of this kernel at a time (bench --mma-waves), most likely for its
 * registers; 128-thread workgroups need half the registers each, so two or more may share an SM.
 */
export type MmaSubgroups = 4 | 8;
export const MMA_SUBGROUPS_OPTIONS = [8, 4] as const;

/** Why the subgroup-matrix matmul cannot run on this device ('' where it can). */
export function mmaSupport(ctx: GpuContext): string {
  if (!ctx.features.subgroupMatrix) return 'no chromium-experimental-subgroup-matrix';
  if (!ctx.features.f16) return 'no shader-f16';
  const cfgs = (ctx.adapter.subgroupMatrixConfigs ?? []) as Array<Record<string, unknown>>;
  if (!cfgs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16)) return 'no 16×16×16 f16→f32 subgroup-matrix config';
  if (ctx.subgroupMinSize !== 32 || ctx.subgroupMaxSize !== 32) return `subgroups of ${ctx.subgroupMinSize}–${ctx.subgroupMaxSize} lanes, not always 32`;
  const wg = ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (wg < MMA_MIN_WORKGROUP_BYTES) return `${wg} bytes of workgroup memory, needs ${MMA_MIN_WORKGROUP_BYTES}`;
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

/**
 * The layout constants of a pipeline with NT tiles a workgroup, KC weights a chunk, RS_ROUNDS and SGS subgroups a
 * workgroup: its arrays' sizes in vec4<f16> or f32 (x: KS = SGS / NT chunks of 16 rows × KC + 8 f16, less for more
 * tiles; W: SGS such chunks; results: SGS, NT or 1 tiles of 256). NT ≤ SGS; KC = 32 needs NT ≤ SGS / 2 (each
 * thread stages KS · KC / 64 vec4s of each of its rows of x).
 */
export function mmaConstants(NT: number, KC: MmaChunk = 64, rounds: MmaRounds = 0, SGS: MmaSubgroups = 8): { NT: number; KC: number; RS_ROUNDS: number; SGS: number; X_VEC4: number; CHUNK_VEC4: number; RESULTS_F32: number } {
  if (NT > SGS) throw new Error(`subgroup-matrix matmul: ${NT} tiles a workgroup need that many subgroups, the workgroup has ${SGS}; hint: mmaTiles ${SGS} or fewer, or mmaSubgroups 8`);
  if (KC === 32 && NT > SGS / 2) throw new Error(`subgroup-matrix matmul: 32-weight chunks need ${SGS / 2} tiles a workgroup or fewer at ${SGS} subgroups (each thread stages ${SGS} / NT · 32 / 64 vec4s of x a trip), got ${NT}; hint: mmaChunk 64`);
  const str4 = (KC + 8) / 4;
  return { NT, KC, RS_ROUNDS: rounds, SGS, X_VEC4: (SGS / NT) * 16 * str4, CHUNK_VEC4: SGS * 16 * str4, RESULTS_F32: (rounds === 0 ? SGS : rounds === 1 ? NT : 1) * 256 };
}

/** Workgroups of a dispatch with NT tiles a workgroup (the SwiGLU store: NT / 2 gate tiles and their up tiles). */
export function mmaWorkgroups(N: number, NT: number, swiglu: boolean): number {
  return swiglu ? Math.ceil(N / 2 / (16 * (NT / 2))) : Math.ceil(N / (16 * NT));
}
