// Matmul wrapper: y (+)= x·Wᵀ + bias + loraScale·(u·Bᵀ) for a weight in q4, bf16 or i8 format
// (src/formats/weights.ts). M ≤ 32 rows use the GEMV kernel (decode; 16 rows per dispatch), more rows the tiled kernel.
// The WGSL is composed from a weight snippet (shaders/weights_<format>.wgsl), the shared epilogue
// (matmul_epilogue.wgsl) and the kernel body; the GEMV also from gemv_common.wgsl and a
// row-reduction snippet; its body is made per (MR, NR) with unrolled accumulators (gemv_body.ts) or
// the loop form (matmul_gemv.wgsl). q4 weights with K % 32 = 0 can take the wide GEMV (16-byte code
// loads: weights_q4_wide.wgsl; on request — measured slower on H100) or the row-lane GEMV (lanes own
// output rows and share each x load: gemv_rowlane.ts; the default for gate|up at 4–8 rows of x).
// Weights larger than the binding limit are split into row ranges, one dispatch per part.
import gemvCode from '../../shaders/matmul_gemv.wgsl?raw';
import gemvWideCode from '../../shaders/matmul_gemv_wide.wgsl?raw';
import gemvCommon from '../../shaders/gemv_common.wgsl?raw';
import epilogueCode from '../../shaders/matmul_epilogue.wgsl?raw';
import q4WideCode from '../../shaders/weights_q4_wide.wgsl?raw';
import tiledCode from '../../shaders/matmul_tiled.wgsl?raw';
import saveRowCode from '../../shaders/matmul_save_row.wgsl?raw';
import transCode from '../../shaders/matmul_t.wgsl?raw';
import reduceShared from '../../shaders/gemv_reduce_shared.wgsl?raw';
import reduceSubgroup from '../../shaders/gemv_reduce_subgroup.wgsl?raw';
import q4Code from '../../shaders/weights_q4.wgsl?raw';
import bf16Code from '../../shaders/weights_bf16.wgsl?raw';
import i8Code from '../../shaders/weights_i8.wgsl?raw';
import f32Code from '../../shaders/weights_f32.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { composeSource } from '../gpu/pipelines';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { sliceRowsQ4 } from '../formats/q4';
import { rowBytes, type WeightFormat, type WeightHost } from '../formats/weights';
import { ceilDiv, grid1d } from './grid';
import { encodeSumParts } from './matmul_f32';
import { F16_ENABLE, gemvBody, gemvBody4, gemvStagedBody, gemvWideBody, stagedGemvBytes, sumSquaresRedFloats, type BodyOpts } from './gemv_body';
import { ROWLANE_LANES_OPTIONS, gemvRowLaneBody, rowLaneFixedFloats } from './gemv_rowlane';
import { MMA_CHUNK_OPTIONS, MMA_DECODES, MMA_ENABLE, MMA_NORM, MMA_NO_NORM, MMA_Q4_LUT, MMA_Q4_NO_LUT, MMA_ROUNDS_OPTIONS, MMA_SUBGROUPS_OPTIONS, MMA_TILES_OPTIONS, mmaBody, mmaConstants, mmaFitLayout, mmaShapeOk, mmaSupport, mmaTiles, mmaWorkgroupBytes, mmaWorkgroups, type MmaChunk, type MmaDecode, type MmaRounds, type MmaSubgroups } from './matmul_mma';

export const GEMV_MAX_ROWS = 16;
/** Storage buffers a GEMV with the RMSNorm fused binds: x, codes, scales, codebook, bias, y, LoRA u and B, the norm weight. */
export const GEMV_NORM_STORAGE_BUFFERS = 9;
/** Storage buffers a GEMV that also saves its rows (MatmulOptions.save) binds: x, codes, scales, codebook, bias, y, LoRA u and B, and the save's positions, map and destination. */
export const GEMV_SAVE_STORAGE_BUFFERS = 11;
/** The epilogue's save_row() where a kernel saves nothing (matmul_save_row.wgsl where it does). */
const NO_SAVE = 'fn save_row(mLocal: u32, n: u32, v: f32) {}';
/** Largest LoRA rank the epilogue takes as a pipeline constant (unrolled); larger ranks loop over p.R. */
const LORA_R_UNROLL_MAX = 64;
/** Rows of x up to which the GEMV (in dispatches of GEMV_MAX_ROWS) is taken over the tiled kernel: G = 32 decode (H100, 2026-12-05: 15.9 ms per step by GEMV, 29.9 ms by the tiled kernel). */
export const GEMV_VARIANT_MAX_ROWS = 32;
const SNIPPETS: Record<WeightFormat, string> = { q4: q4Code, bf16: bf16Code, i8: i8Code };

/** One row range of a weight in its own buffers (or, in a view, a window of them). */
export interface WeightPart {
  rowOffset: number;
  rows: number;
  /** q4 codes / bf16 pairs / i8 quads */
  data: GPUBuffer | BufferWindow;
  /** q4: f16 block scales; i8: f32 row scales; bf16: null */
  scales: GPUBuffer | BufferWindow | null;
}

export interface BufferWindow { buffer: GPUBuffer; offset: number; size: number }

/** A weight W [N, K] on the GPU, with optional f32 bias [N]. */
export interface Weight {
  format: WeightFormat;
  N: number;
  K: number;
  parts: WeightPart[];
  /** q4 only: f32[16] */
  codebook: GPUBuffer | null;
  bias: GPUBuffer | null;
  bytes: number;
}

/** LoRA term of the epilogue: u = x·Aᵀ [M, ldu] (computed before), B [N, R], slices of N. */
export interface LoraEpilogue {
  u: Binding;
  ldu: number;
  B: Binding;
  R: number;
  scale: number;
  /** starts of slices 1 and 2 in N (a fused q|k|v weight has three slices); N when absent */
  slice1?: number;
  slice2?: number;
  /**
   * u was made from x∘g without the RMSNorm's rsqrt (encodeDenseGemv with XNorm.unscaled), for a GEMV
   * with xNorm that sums the LoRA term in its lanes (normLoraUnscaled): it scales its sums by the rsqrt
   * at the end, the LoRA term with them.
   */
  uUnscaled?: boolean;
}

/**
 * The RMSNorm a GEMV applies to its x rows: weight f32[K] and epsilon; `unscaled`: x∘g only, without
 * rsqrt(mean x² + eps) (a LoRA u: LoraEpilogue.uUnscaled). `tileSums` (the subgroup-matrix matmul only):
 * Σx² of each row comes from the float offset `tileSums` of x's buffer, [rows of x, K/16] sums of
 * 16-column tiles (MatmulOptions.ySumSq of the matmul that wrote x), instead of from the row.
 */
export interface XNorm { w: Binding; eps: number; unscaled?: boolean; tileSums?: number }

export interface MatmulOptions {
  ldy?: number;
  variant?: 'gemv' | 'tiled';
  /** y += result (fused residual add) */
  accumulate?: boolean;
  lora?: LoraEpilogue | null;
  /** GEMV only: output rows per lane group (1, 2 or 4) and lanes per lane group (32…256); default gemvShape() */
  gemvRows?: number;
  gemvLanes?: number;
  /** GEMV only (8-weight unrolled body): lane steps per loop trip, their loads issued together (1, 2 or 4); default the kernel's gemvSteps */
  gemvSteps?: number;
  /** GEMV only (q4 and bf16, unrolled bodies): 4 weights per lane step, a warp's x loads contiguous (gemvBody4); default from the kernel's gemvStep4Rows rows of x */
  gemvStep4?: boolean;
  /** GEMV only: true forces the wide GEMV, false the 8-weight one (tests, benchmarks); default: wide at M = 1 where K % 32 = 0 (gemvWide) */
  gemvWide?: boolean;
  /** GEMV only: x is a gate|up pair [M, 2K] and the GEMV reads h = silu(gate)·up (the SwiGLU fused into the down projection) */
  xSwiglu?: boolean;
  /** GEMV only (q4, K % 32 = 0): true forces the row-lane GEMV (gemv_rowlane.ts; gemvRows then counts rows a lane, gemvLanes the row lanes 8…64), false the lane-group one; default from the kernel's gemvRowLaneRows rows of x */
  gemvRowLane?: boolean;
  /** row-lane GEMV only: threads a workgroup, 128 or 256; default rowLaneLayout's (128) */
  gemvThreads?: number;
  /** GEMV only: the reduction array sized to its use (true) or 8 KiB always (false); default MatmulKernel.gemvRedSized (benchmarks compare them) */
  gemvRedSized?: boolean;
  /** GEMV only (q4, K % 32 = 0): true stages x in workgroup memory (gemv_body.ts gemvStagedBody; gemvLanes then 4…32), false never; default up to the kernel's gemvStagedRows rows of x */
  gemvStaged?: boolean;
  /**
   * decode GEMVs with the unrolled bodies (MatmulKernel.swigluOutFor): w is a gate|up weight [2I, K] and
   * y receives h = silu(gate)·up [M, I] (ldy default I) — the SwiGLU in the GEMV's store (gemv_rowlane.ts
   * and gemv_body.ts `swiglu`: a lane's or lane group's two rows are the pair j, j + I)
   */
  ySwiglu?: boolean;
  /** GEMV only (unrolled bodies): x is raw and the GEMV applies RMSNorm(x; w, eps) itself (the norm fused into q|k|v and gate|up) */
  xNorm?: XNorm | null;
  /**
   * GEMV only, shader-f16: x holds f16 values ([M, K] f16, K a multiple of 8) and the lane-group GEMV sums its
   * products in f16 (gemv_body.ts BodyOpts.x16); no fused norm or SwiGLU in the x reads. The decode
   * gate|up GEMV from gemvX16Rows rows of x (src/model/layer.ts).
   */
  gemvX16?: boolean;
  /**
   * GEMV-sized M, q4 or bf16 with K % 64 = 0: true forces the subgroup-matrix matmul (matmul_mma.ts:
   * tensor cores, f16 inputs, f32 sums), false never; default from the kernel's gemvMmaRows rows of x
   * where the device has it (mmaSupport). No SwiGLU x reads or f16 x; a fused norm it applies as it stages x.
   */
  gemvMma?: boolean;
  /** the subgroup-matrix matmul only: 16-row tiles of W a workgroup (1, 2, 4, 8); default mmaTiles() */
  mmaTiles?: number;
  /** the subgroup-matrix matmul, benchmarks only (wrong results): 1 skips the products, 2 the decode of W, 3 both, 4 stores W's codes undecoded, 5 decodes without the scale, 6 stores the code bits where the decode's values would go (bench --mma-waves) */
  mmaDebug?: 0 | 1 | 2 | 3 | 4 | 5 | 6;
  /** the subgroup-matrix matmul, benchmarks: barriers between a trip's products and between the decode's words, so their loads are not hoisted together (fewer registers live: bench --mma-waves) */
  mmaSerial?: boolean;
  /** the subgroup-matrix matmul: trips of W and x loaded ahead (0: each trip loads its own, 1, 2); default MatmulKernel.mmaPrefetch1 at one tile a workgroup, else 1 */
  mmaPrefetch?: 0 | 1 | 2;
  /** the subgroup-matrix matmul: decode code bytes through a table (0), each code by a subgroup shuffle (1), that written out word by word (2: no loop, no local array; MatmulKernel.mmaDecode's default), or word by word with each code's value loaded from the codebook buffer (3) */
  mmaDecode?: MmaDecode;
  /** the subgroup-matrix matmul: weights a chunk (64, or 32: half the x and W chunks' workgroup memory, twice the trips; NT ≤ 4); default MatmulKernel.mmaChunk1 at one tile a workgroup, else mmaChunk2 */
  mmaChunk?: MmaChunk;
  /** the subgroup-matrix matmul: its partial results added all at once (0), a K-phase a round (1) or a subgroup a round (2: 1 KiB of workgroup memory); default MatmulKernel.mmaRounds1 at one tile a workgroup, else mmaRounds2 */
  mmaRounds?: MmaRounds;
  /** the subgroup-matrix matmul: subgroups a workgroup (8: 256 threads; 4: 128, two rows of x a thread; tiles ≤ 4); default MatmulKernel.mmaSubgroups1 at one tile a workgroup, else mmaSubgroups2 up to mmaSubgroups2 / 2 tiles, else 8 */
  mmaSubgroups?: MmaSubgroups;
  /**
   * the subgroup-matrix matmul for every chunk of rows (mmaEvery), y's width (ldy) N, a multiple of 16
   * (whole tiles in every part): it also stores Σy² of each 16-column tile of each row it stores (bias,
   * residual and LoRA in), at this float offset of y's buffer, [rows of y, ldy/16] — the tile sums a
   * later XNorm.tileSums reads. No SwiGLU store.
   */
  ySumSq?: number;
  /** with xNorm, lane-group GEMVs: Σx² summed by the workgroup before the walk (gemv_body.ts BodyOpts.prologue); default from the kernel's gemvNormPrologueRows rows of x */
  gemvNormPrologue?: boolean;
  /** tiled only: rows of y per thread, 4 (64-row tiles) or 8 (128-row tiles, half the workgroup-memory loads per multiply-add); default by M (tiledRows) */
  tiledRows?: 4 | 8;
  /** tiled only, no LoRA epilogue: split-K through this scratch (SplitK) */
  split?: SplitK;
  /** GEMV only, where saveFusable: each stored row of y also goes to a training-layout buffer (RowSaveTarget) */
  save?: RowSaveTarget | null;
}

/**
 * Where a decode GEMV copies the rows it stores (matmul_save_row.wgsl): row m of y to row
 * map[2m] + pos[m]·map[2m+1] of dst (f32 rows of ldy floats) — what ScatterRowsKernel would do after it.
 */
export interface RowSaveTarget { pos: Binding; map: Binding; dst: Binding }

/**
 * Split-K for the tiled kernels (forward and transposed) of a grid too small to fill the GPU: the
 * reduction is cut into chunks, one grid layer each, whose partials go to `scratch` [splits, M, out]
 * and a second pass sums them into the output (no f32 atomics). `scratch` is a buffer that is free
 * while the matmul runs and bound nowhere else in it (training passes one of Backprop's gradients).
 */
export interface SplitK {
  scratch: GPUBuffer;
  /** chunks; default MatmulKernel.splitsFor's (1 where the grid is large enough or the scratch too small) */
  splits?: number;
}

/** Steps one GEMV lane should walk along a row, at most (gemvLanesFor). */
const GEMV_WALK = 16;

/** The smallest lane count option ≥ n (the largest if none). */
function lanesAtLeast(n: number): number {
  return GEMV_LANES_OPTIONS.find((l) => l >= n) ?? GEMV_LANES_OPTIONS[GEMV_LANES_OPTIONS.length - 1];
}

/**
 * Lanes per output row so each lane walks at most `walk` steps of `step` weights (8, or 32 for
 * the wide GEMV): 32 for K ≤ 4096, up to 256 for long rows. With 32, the down projection (K = 8960,
 * N = 1536) ran as 192 workgroups whose lanes each walked 35 groups, at 109 GB/s against 501 GB/s
 * for the same bytes as 8960 × 1536.
 */
export function gemvLanesFor(K: number, step = 8, walk = GEMV_WALK): number {
  return lanesAtLeast(Math.ceil(K / step / walk));
}

/** Workgroups a GEMV dispatch should have at least (about one per SM of a large GPU). */
const GEMV_MIN_WORKGROUPS = 128;

/**
 * The GEMV layout for M rows of x and a weight [N, K], from sweeps of every layout of 8960×1536 and
 * 1536×8960 at M = 1, 8, 16 with cold weights, GPU-timed (bench/RESULTS.md, 2026-12-05):
 * - rows per lane group: 2 (best at M = 8 and 16 for both shapes, where 4 rows ran up to 3× slower
 *   and 1 row up to 1.8×; at M = 1 too since the fifth session: 1536×8960 0.0183 vs 0.0215 ms on an
 *   H100, 0.0158 vs 0.0239 on an H200, 8960×1536 even to 6% better); 1 for N < 2·GEMV_MIN_WORKGROUPS
 *   (the LoRA u = x·Aᵀ: 16–48 rows), which needs every row apart;
 * - lanes per row: each lane walks ≤ 16 steps (32 lanes at K = 1536, 128 at K = 8960), raised until
 *   the dispatch has GEMV_MIN_WORKGROUPS workgroups (N · lanes / (256 · rows)), but never past a
 *   row's K/step steps (lanes with no step would idle).
 * `step`: weights per lane step, 8 (8-weight bodies) or 32 (the wide q4 GEMV); `step4`: the 4-weight
 * body (gemvBody4), which takes at least GEMV_STEP4_MIN_LANES lanes. M is kept for callers (every M
 * takes the same layout now).
 */
export function gemvLayout(_M: number, N: number, K: number, step = 8, step4 = false, walk = GEMV_WALK): { rows: number; lanes: number } {
  const rows = N >= 2 * GEMV_MIN_WORKGROUPS ? 2 : 1;
  const spread = (GEMV_MIN_WORKGROUPS * 256 * rows) / N;
  const own = Math.max(gemvLanesFor(K, step, walk), step4 ? GEMV_STEP4_MIN_LANES : 0);
  const lanes = Math.min(lanesAtLeast(Math.max(own, spread)), lanesAtLeast(Math.ceil(K / (step4 ? 4 : step))));
  return { rows, lanes };
}

/**
 * The row-lane GEMV's layout (gemv_rowlane.ts) for a weight [N, K]: 2 rows a lane, 8 row lanes and
 * 128 threads (16 k-parts: 16 rows a workgroup) where that gives 4 · GEMV_MIN_WORKGROUPS workgroups,
 * else 1 row a lane. H100, cold gate|up (17,920 × 1536) at 8 rows of x, GPU-timed (2026-12-06, twelfth
 * session, runs 1, 2, 4, 5): 2 rows a lane with 8 or 16 row lanes fastest among 256-thread layouts
 * (0.041 ms), 32 row lanes (fewer, longer walks) and 4 rows a lane slower; in one call 8 row lanes
 * with 128 threads 0.0372 ms against 0.0408 (16 row lanes, 256 threads). Loading the next step's
 * codes ahead, scaling the weights instead of the step's sums, and a loop over the step's 4 code
 * words did not help.
 */
export function rowLaneLayout(_M: number, N: number, _K: number): RowLaneLayout {
  return N / 16 >= 4 * GEMV_MIN_WORKGROUPS ? { rows: 2, lanes: 8, threads: 128 } : { rows: 1, lanes: 8, threads: 128 };
}

/** A row-lane GEMV layout: rows a lane, row lanes, threads a workgroup (threads / lanes k-parts). */
export interface RowLaneLayout { rows: number; lanes: number; threads: number }

/** Fewest rows of W for which the row-lane GEMV is the default: gate|up's 17,920 (q|k|v, o and down, 1,536–2,048 rows, ran slower with it: too few workgroups or long walks). */
export const ROWLANE_MIN_N = 8192;

/**
 * Fewest lanes a row with the 4-weight step (gemvBody4): 64 — H100, M = 16, cold: 8960×1536 0.0366
 * ms with 64 lanes, 0.0405 with 32, 0.0524 with the 8-weight step (2026-12-05 sixth session, run 8).
 */
const GEMV_STEP4_MIN_LANES = 64;

/** Rows of W up to this many weights are "short" for the 4-weight step's choice (MatmulKernel.gemvStep4RowsShortK): the 1,536 of Qwen2.5-1.5B's hidden size, not the 8,960 of its MLP. */
export const GEMV_SHORT_K = 2048;

/** Rows per lane group the GEMV may use (gemv_common.wgsl's NR ≤ MAXNR). */
export const GEMV_ROWS_OPTIONS = [1, 2, 4] as const;
/** Lane steps per loop trip of the 8-weight unrolled GEMV body (MatmulOptions.gemvSteps). */
export const GEMV_STEPS_OPTIONS = [1, 2, 4] as const;
/** Lanes per lane group (a row's K is split over them; 256 / lanes rows per workgroup). */
export const GEMV_LANES_OPTIONS = [32, 64, 128, 256] as const;
/** Lanes a row of the staged GEMV (gemv_body.ts gemvStagedBody) may have: fewer than a subgroup too, since its walk is cheap and its staging is paid once a workgroup. */
export const STAGED_LANES_OPTIONS = [4, 8, 16, 32] as const;

/** The staged GEMV's lane counts a row for mr rows of x: lane m stores row m's sums, so never fewer than mr. */
export function stagedLaneOptions(mr: number): number[] {
  return STAGED_LANES_OPTIONS.filter((l) => l >= mr);
}

/**
 * The staged GEMV's lanes a row for a weight of N rows at NR rows a lane group and mr rows of x: of
 * stagedLaneOptions, the fewest (the longest walks, the most rows a workgroup — each workgroup stages
 * x once) that still give `workgroups` workgroups, else 32.
 */
export function stagedLanes(N: number, NR: number, workgroups: number, mr = 1): number {
  return stagedLaneOptions(mr).find((l) => Math.ceil(N / ((256 / l) * NR)) >= workgroups) ?? 32;
}

/** Whether the subgroup-matrix matmul of this format and q4 decode composes the code-byte table (1 KiB of workgroup memory). */
function fmtLut(format: string, decode: MmaDecode): boolean {
  return format === 'q4' && decode === 0;
}

/** Throws unless v is one of a setting's options: "<what> must be one of …, got v". */
function checkOption(what: string, v: number, options: readonly number[]): void {
  if (!options.includes(v)) throw new Error(`${what} must be one of ${options.join(', ')}, got ${v}`);
}

/** Uploads a host weight, splitting rows (multiples of 64) so every part fits one binding. */
export function uploadWeight(ctx: GpuContext, w: WeightHost, label: string, bias?: Float32Array, maxBinding = ctx.limits.maxStorageBufferBindingSize): Weight {
  const rowsPerPart = Math.max(64, Math.floor(maxBinding / rowBytes(w.format, w.K) / 64) * 64);
  const parts: WeightPart[] = [];
  let bytes = 0;
  for (let n0 = 0; n0 < w.N; n0 += rowsPerPart) {
    const n1 = Math.min(w.N, n0 + rowsPerPart);
    const [data, scales] = packPart(ctx, w, n0, n1, `${label}[${n0}]`);
    parts.push({ rowOffset: n0, rows: n1 - n0, data, scales });
    bytes += data.size + (scales?.size ?? 0);
  }
  const codebook = w.format === 'q4' ? ctx.memory.upload(`${label}.codebook`, w.q.codebook) : null;
  const b = bias ? ctx.memory.upload(`${label}.bias`, bias) : null;
  return { format: w.format, N: w.N, K: w.K, parts, codebook, bias: b, bytes: bytes + (codebook?.size ?? 0) + (b?.size ?? 0) };
}

function packPart(ctx: GpuContext, w: WeightHost, n0: number, n1: number, label: string): [GPUBuffer, GPUBuffer | null] {
  switch (w.format) {
    case 'q4': {
      const q = n0 === 0 && n1 === w.N ? w.q : sliceRowsQ4(w.q, n0, n1);
      return [ctx.memory.upload(`${label}.codes`, q.codes), ctx.memory.upload(`${label}.scales`, q.scales)];
    }
    case 'bf16':
      return [ctx.memory.upload(`${label}.bf16`, w.bits.subarray(n0 * w.K, n1 * w.K)), null];
    case 'i8':
      return [ctx.memory.upload(`${label}.i8`, w.q.subarray(n0 * w.K, n1 * w.K)), ctx.memory.upload(`${label}.rowscale`, w.scales.subarray(n0, n1))];
  }
}

export function destroyWeight(ctx: GpuContext, w: Weight): void {
  for (const p of w.parts) {
    if ('size' in p.data && 'offset' in p.data) throw new Error('destroyWeight: this is a view (weightRows); destroy the weight it looks into');
    ctx.memory.destroy(p.data as GPUBuffer);
    ctx.memory.destroy(p.scales as GPUBuffer | null);
  }
  ctx.memory.destroy(w.codebook);
  ctx.memory.destroy(w.bias);
}

/**
 * A view of rows [r0, r1) of a weight (no copy): windows into its part buffers. r0 and r1 must be
 * multiples of 64 (or r1 = N) so every window starts on the 256-byte binding alignment.
 */
export function weightRows(w: Weight, r0: number, r1: number): Weight {
  if (r0 % 64 || (r1 % 64 && r1 !== w.N) || r0 >= r1 || r1 > w.N) throw new Error(`weightRows: rows [${r0}, ${r1}) of ${w.N} must be 64-aligned`);
  if (w.format === 'q4') throw new Error('weightRows: q4 views are not supported (their scale rows are not 256-byte aligned)');
  const parts: WeightPart[] = [];
  for (const p of w.parts) {
    const a = Math.max(r0, p.rowOffset);
    const b = Math.min(r1, p.rowOffset + p.rows);
    if (a >= b) continue;
    const local = a - p.rowOffset;
    const dataRow = rowBytes(w.format, w.K);
    const win = (x: GPUBuffer | BufferWindow, per: number): BufferWindow => {
      const buf = 'buffer' in x ? x : { buffer: x, offset: 0 };
      return { buffer: buf.buffer, offset: buf.offset + local * per, size: (b - a) * per };
    };
    parts.push({ rowOffset: a - r0, rows: b - a, data: win(p.data, dataRow), scales: p.scales ? win(p.scales, 4) : null });
  }
  return { format: w.format, N: r1 - r0, K: w.K, parts, codebook: w.codebook, bias: null, bytes: 0 };
}

/** From this many rows of x the tiled kernels default to 8 rows per thread (128-row tiles). */
export const TILED_TM8_MIN_ROWS = 512;

/**
 * Tiled kernels' rows of y per thread: 8 from TILED_TM8_MIN_ROWS rows (H200, 2026-12-05, M = 3072:
 * 2.46 vs 2.97 ms at 8960×1536, 2.87 vs 3.17 ms at 1536×8960, matmul_t 6.77 vs 7.32 ms), else 4
 * (fewer rows would leave most of a 128-row tile idle); `tm` overrides.
 */
function tiledRows(tm: 4 | 8 | undefined, M: number): 4 | 8 {
  const t = tm ?? (M >= TILED_TM8_MIN_ROWS ? 8 : 4);
  if (t !== 4 && t !== 8) throw new Error(`tiledRows must be 4 or 8, got ${t}`);
  return t;
}

/** The Params block of matmul_epilogue.wgsl (the GEMVs and matmul_tiled.wgsl): rows [m0, m0 + mr) of x against the N rows of a part at nOff of a weight of nTotal rows. */
function matmulParams(mr: number, N: number, K: number, ldy: number, nOff: number, nTotal: number, m0: number, lora: LoraEpilogue | null, eps = 0, sqOff = 0): Uint8Array {
  return params([
    ['u32', mr], ['u32', N], ['u32', K], ['u32', ldy], ['u32', nOff],
    ['u32', lora?.ldu ?? 0], ['u32', lora?.R ?? 0], ['u32', lora?.slice1 ?? nTotal], ['u32', lora?.slice2 ?? nTotal],
    ['f32', lora?.scale ?? 0], ['u32', m0], ['f32', eps], ['u32', sqOff],
  ]);
}

export class MatmulKernel {
  /** forces a variant for every M (tests run the decode GEMV path on SwiftShader with it); null: variantFor's choice */
  variantOverride: 'gemv' | 'tiled' | null = null;
  /** GEMV bodies with unrolled accumulators (gemv_body.ts; default) or the loop forms of matmul_gemv{,_wide}.wgsl (benchmarks compare them) */
  gemvUnrolled = true;
  /**
   * lane steps per loop trip of the 8-weight unrolled GEMV body (gemvBody's U): how many weight loads a
   * lane has in flight. 1: H100, 2026-12-06 thirteenth session run 8 (the decode step's pass, one call),
   * 1 / 2 / 4: G = 1 1.915 / 1.920 / 2.060 ms, G = 8 2.994 / 3.158 / 3.589, G = 16 4.753 / 4.873 / 5.754.
   */
  gemvSteps = 1;
  /**
   * most lane steps one lane of a lane-group GEMV walks along a row (gemvLayout's walk; GEMV_WALK): fewer
   * give a row more lanes. 16: H100, 2026-12-06 thirteenth session run 9 (the decode step's pass, one
   * call), walks of 4 / 8 / 16 / 32: G = 1 1.963 / 1.959 / 1.919 / 2.044 ms, G = 8 3.163 / 3.155 / 2.970 /
   * 3.204, G = 16 4.791 / 4.789 / 4.742 / 5.495.
   */
  gemvWalk = GEMV_WALK;
  /**
   * From this many rows of x the q4 and bf16 GEMVs take 4 weights per lane step (gemvBody4; Infinity: never).
   * 9, by measurement (H100, 2026-12-05 sixth session): at 16 rows the cold GEMVs ran 8–30% faster
   * and G = 16 rollouts 6–10%; at 8 rows 1536×8960 ran 18% slower and G = 8 rollouts 9% slower.
   */
  gemvStep4Rows = 9;
  /**
   * gemvStep4Rows for rows of at most GEMV_SHORT_K weights (q|k|v, o, gate|up, the LM head). Cold, at
   * 8 rows, the 4-weight step was faster for 8960×1536 but slower for 1536×8960 (sixth session); in
   * the whole G = 8 step it made no difference (3.424 vs 3.399 ms, seventh session's run 3): 9.
   */
  gemvStep4RowsShortK = 9;
  /**
   * From this many rows of x (to gemvRowLaneMaxRows) the q4 GEMVs (K % 32 = 0) of at least ROWLANE_MIN_N
   * rows take the row-lane body (gemv_rowlane.ts; Infinity: never). H100, 2026-12-06 twelfth session
   * (a decode step's pass, GPU-timed, without and with it in one call): G = 8 3.419 → 3.189 ms, with
   * LoRA 4.012 → 3.737 (run 6; run 8: 3.427 → 3.182, 3.990 → 3.744); at 4 rows it ties the lane-group
   * GEMV (cold gate|up 0.0312 / 0.0313 ms); at 16 rows it made the step slower (G = 16 4.752 → 4.933).
   */
  gemvRowLaneRows = 4;
  /** Most rows of x the row-lane GEMV is the default for: at 16 (G = 16) the step was slower with it (above; 4.753 → 5.487 ms with 4 rows a lane). */
  gemvRowLaneMaxRows = 8;
  /** Fewest rows of W the row-lane GEMV is the default for (ROWLANE_MIN_N; benchmarks vary it). */
  gemvRowLaneMinN = ROWLANE_MIN_N;
  /**
   * Up to this many rows of x the q4 GEMVs that can stage x in workgroup memory do (stagedFor; 0:
   * never). 1: H100, 2026-12-06 sixteenth session (a G = 1 decode step's pass, GPU-timed, each choice in
   * one call): never 1.854 ms, LoRA 2.363; one row for gate|up only (N ≥ 8192) at 512 target workgroups
   * (16 lanes a row) 1.749, LoRA 2.268; every weight 1.888–2.062 (o and down are slower staged:
   * streamed 6.0 / 15.1 µs against 5.4 / 11.2); gate|up streamed 17.0 → 15.5 µs. Run 2, the default
   * committed: 1.850 → 1.740 ms (LoRA 2.356 → 2.265); q|k|v staged too (N ≥ 2048) 1.740 (LoRA 2.243).
   * H200, 2026-12-07 twentieth session, two calls: N ≥ 8192 1.684 / 1.677 ms (LoRA 2.181 / 2.164), N ≥ 2048
   * 1.679 / 1.680 (LoRA 2.156 / 2.144) — a tie without LoRA and 0.02 ms faster with it on both kinds, so
   * q|k|v (2048 rows) is staged too; o and down (1536 rows) stay on the lane-group body.
   */
  gemvStagedRows = 1;
  /**
   * From this many rows of x a decode layer's MLP norm (where it is not fused into gate|up:
   * DecodeFusion.normMlp, 9–16 rows) also stores xn in f16 and the gate|up GEMV reads that
   * (MatmulOptions.gemvX16: half the x bytes, f16 products; shader-f16 only; Infinity: never). 9: H100,
   * 2026-12-07 twenty-first session — gate|up streamed at 16 rows 55.8 → 46.6 µs; the G = 16 decode
   * step's pass 4.411 → 4.196 ms (LoRA 5.577 → 5.372); G = 16 rollouts 3,495 / 3,515 → 3,668 / 3,670
   * tok/s (LoRA 2,836 / 2,779 → 2,919 / 2,930). Its products are within 5e-4 of the exact ones
   * (gemvF16Ref; bench-check --only f16).
   */
  gemvX16Rows = 9;
  /**
   * From this many rows of x the q4 matmuls of decode (and the bf16 LM head: mmaBf16) take the
   * subgroup-matrix kernel where the device has it (mmaFor; Infinity: never); the layer fuses q|k|v's
   * norm into it and runs gate|up's as a kernel (mmaNormWorkgroups). 9: H100, 2026-12-07 twenty-second session, run 5 (a G = 16 decode step's pass, GPU-timed, in
   * one call): GEMVs 4.186 ms, subgroup matrices 3.568 (table decode) / 3.510 (shuffle decode); with
   * LoRA 5.372 → 4.304 / 4.283. At 8 rows the GEMVs cost half of 16 rows and the matrices the same
   * (run 4: G = 8 2.890 → 4.275 ms with an earlier decode), so not below 9.
   */
  gemvMmaRows = 9;
  /**
   * the subgroup-matrix matmul's decode of W (MatmulOptions.mmaDecode): each code by a subgroup shuffle (1: run 5 above; streamed
   * gate|up at 16 rows 39.9 → 37.7 µs), written out word by word (2). H100, 2026-12-07 twenty-fourth session, one call: G = 16 step
   * pass 3.274 → 3.208 ms (LoRA 4.037 → 3.989), G = 32 6.143 → 6.100 (7.254 → 7.206); streamed gate|up 37.5 → 37.0 µs.
   */
  mmaDecode: MmaDecode = 2;
  /**
   * Decode layers fuse an RMSNorm into the matmul after it where that runs on subgroup matrices in at
   * most this many workgroups (mmaNormFor; src/model/layer.ts): each workgroup reads its rows of x once
   * more for Σx² first. 256: q|k|v (128 workgroups), not gate|up (560). H100, 2026-12-07 run 7 (G = 16
   * step pass, one call): norm kernels 3.515 ms, both fused 3.702 (gate|up's matmul 1.045 → 1.474 ms a
   * step against 0.197 for its norm kernel; q|k|v's 0.217 → 0.351 against 0.197).
   */
  mmaNormWorkgroups = 256;
  /**
   * Decode layers whose four matmuls all run on subgroup matrices (mmaEvery) pass Σx² between them as
   * tile sums (MatmulOptions.ySumSq, XNorm.tileSums; src/model/layer.ts): o and down store them with
   * the residual stream, the next gate|up and q|k|v read 96 sums a row instead of the row, so both norms
   * fuse (no norm kernel) without each workgroup re-reading x.
   */
  mmaTileSums = true;
  /**
   * The subgroup-matrix matmul takes the LoRA term as one more 16 × 16 × 16 product a tile (u·scale and
   * B rounded to f16; its loads before the walk) where it can (mmaLoraFor), instead of 32 loads and 16
   * multiply-adds a thread in its epilogue. H100, 2026-12-07 twenty-fourth session, one call (bench-rollout --choices mma): the
   * step pass with LoRA at G = 16 4.037 → 3.761 ms, G = 32 7.254 → 6.847 (without LoRA unchanged: 3.274 / 3.267).
   */
  mmaLora = true;
  /**
   * trips of W and x the subgroup-matrix matmul loads ahead where it takes one tile a workgroup (q|k|v, o, down): 1 or 2
   * (MatmulOptions.mmaPrefetch). 2 was slower (same call as mmaLora: G = 16 3.267 → 3.373 ms, streamed down 26.2 → 28.8 µs).
   */
  mmaPrefetch1: 1 | 2 = 1;
  /**
   * Weights a chunk of the subgroup-matrix matmul (MatmulOptions.mmaChunk) and how its partial results are added
   * (mmaRounds), at one tile a workgroup (q|k|v, o, down: fewer workgroups than a large GPU has SMs) and at more
   * (gate|up, the LM head). An H100 SM's workgroups share 48 KiB of workgroup memory (bench --occupancy), and the
   * smaller layout (32-weight chunks, the results a subgroup a round: 16 KiB at 2 tiles, against 35) is faster where
   * there are many workgroups, though the SM still runs one (its decode's registers, bench/RESULTS.md). H100, 2026-12-07
   * twenty-fifth session, run 4 (bench-rollout --choices mmachunk): with it at 2+ tiles the G = 16 step pass 3.211 → 2.917 ms
   * (LoRA 3.839 → 3.509), G = 32 6.069 → 5.576; with 1 tile's results in rounds too 2.987, with 1 tile's at 32 too 3.175.
   */
  mmaChunk1: MmaChunk = 64;
  mmaChunk2: MmaChunk = 32;
  mmaRounds1: MmaRounds = 0;
  mmaRounds2: MmaRounds = 2;
  /**
   * Subgroups a workgroup of the subgroup-matrix matmul (MatmulOptions.mmaSubgroups) at one tile a workgroup and at
   * more: 8 (256 threads) or 4 (128 threads, each tile's K over half as many subgroups; matmul_mma.ts MmaSubgroups).
   * H100, 2026-12-08 twenty-ninth session (bench-rollout --g 16 --choices mmasgs), G = 16 step pass: 256 threads
   * 2.956 ms (LoRA 3.513), 128 at 2+ tiles (gate|up, the LM head) 2.907 (3.467), 128 at 1 tile 3.395, 128 at both 3.352.
   * mmaSubgroups2 applies up to mmaSubgroups2 / 2 tiles (NT = 2 at 4: KC = 32 and the LoRA term on the matrix units
   * need NT ≤ SGS / 2); 4 and 8 tiles (asked for by mmaTiles only) keep 8 subgroups.
   */
  mmaSubgroups1: MmaSubgroups = 8;
  mmaSubgroups2: MmaSubgroups = 4;
  /** bf16 weights (the LM head) take the subgroup-matrix matmul from gemvMmaRows rows too (false: q4 only). H100, run 11: the G = 16 LM head 0.40 → 0.29 ms, step pass 3.494 → 3.379 ms. */
  mmaBf16 = true;
  /** Workgroups the staged GEMV's layout aims for (stagedLanes): 512 (above; 128 / 256 / 1024: 1.934 / 1.792 / 1.855 ms). */
  gemvStagedWorkgroups = 512;
  /** Longest rows (K) the staged GEMV is the default for. */
  gemvStagedMaxK = Infinity;
  /** Fewest rows of W (N) the staged GEMV is the default for: 2048, gate|up and q|k|v (above). */
  gemvStagedMinN = 2048;
  /**
   * From this many rows of x a lane-group GEMV with the RMSNorm fused takes Σx² from a workgroup
   * prologue (gemv_body.ts BodyOpts.prologue) instead of summing it in every lane group's walk
   * (Infinity: never). 4: H100, 2026-12-06 thirteenth session (a decode step's pass, GPU-timed,
   * without/with in one call): G = 8 3.180 → 3.072 ms, LoRA 3.727 → 3.675 (run 1), 3.083 → 2.968,
   * 3.672 → 3.594 (run 2); G = 4 2.374 → 2.309, LoRA 2.965 → 2.909 (run 2) — the q|k|v GEMV (gate|up
   * runs the row-lane GEMV there, whose Σx² always comes first); G = 1 slower with it (1.964 → 2.043);
   * at 16 rows fused (not the default) 4.846 → 5.099.
   */
  gemvNormPrologueRows = 4;
  /**
   * A decode GEMV of a gate|up weight stores silu(gate)·up itself (swigluOutFor; false: benchmarks
   * compare). H100, 2026-12-06 thirteenth session (a decode step's pass, one call each): the row-lane
   * GEMV (run 2), SwiGLU kernel → stored by gate|up: G = 4 2.451 → 2.379 ms, LoRA 3.034 → 2.959; G = 8
   * 3.075 → 2.966, LoRA 3.672 → 3.596; the lane-group GEMV (run 5): G = 16 4.841 → 4.732, LoRA 6.017 →
   * 5.857; G = 1, against the SwiGLU in the down GEMV's x reads, 1.955 → 1.924, LoRA 2.502 → 2.415.
   */
  swigluStore = true;
  /** most rows of x whose gate|up stores silu(gate)·up (swigluOutFor); more take the SwiGLU kernel. GEMV_MAX_ROWS (one dispatch a chunk of rows either way; benchmarks compare 32). */
  swigluStoreMaxRows = GEMV_MAX_ROWS;
  /**
   * The unrolled GEMV bodies sum the LoRA term in their lanes, its loads overlapping the codebook
   * barrier (gemv_body.ts loraFold; default), instead of the epilogue's 2R loads a storing lane after
   * the row sums (false: benchmarks compare them).
   */
  loraFold = true;
  /** Whether a GEMV with xNorm and LoRA takes its u without the norm's rsqrt (XNorm.unscaled, LoraEpilogue.uUnscaled): it sums the LoRA term in its lanes. */
  get normLoraUnscaled(): boolean {
    return this.loraFold && this.gemvUnrolled;
  }
  /**
   * encodeDenseGemv takes a workgroup row per row of x (MGRID) rather than all rows of x in each
   * workgroup: the LoRA u GEMVs (N = 16–48 rows) then spread over N·M workgroups instead of N. On:
   * H100, 2026-12-05 ninth session (`bench-rollout --dense-row-grid on|off`), a decode step's pass
   * with LoRA 3.968 against 4.117 ms at G = 8 and 5.627 against 5.841 at G = 16; the GRPO step
   * 2.19 / 2.21 s against 2.32 / 2.25.
   */
  denseRowGrid = true;
  /**
   * Split-K target for the tiled kernels when a caller gives a scratch (SplitK): a grid with fewer than
   * half this many workgroups is split into about this many (0: never). The training shapes' small
   * grids — o and q|k|v (K = 1536 out), down (N = 1536), 408–544 workgroups of 256 threads — leave a
   * large GPU in part of a wave.
   */
  splitWorkgroups = 1600;
  /** fewest 16-wide reduction steps a default split-K chunk walks (tests lower it to split tiny models) */
  splitMinSteps = 8;
  /** row sums of the unrolled GEMV bodies as a reduce-scatter where every subgroup has the same width (gemv_body.ts rowSum; default), else reduce_rows() */
  gemvScatter = true;
  /**
   * The GEMVs' reduction array `red` (gemv_reduce_*.wgsl, RED_F32) sized to what the kernel uses
   * (gemvRedFloats; false: 2048 floats, 8 KiB, always). The 8 KiB count against the 48 KiB of workgroup memory an H100 SM
   * shares between its workgroups (bench --occupancy, twenty-fifth session) even where the row sums
   * never touch it (lanes ≤ the subgroup width) — unless the driver drops an array only dead code reads.
   */
  gemvRedSized = true;
  private dummy: GPUBuffer;
  /** why this device cannot run the subgroup-matrix matmul ('' where it can): mmaSupport, once (mmaFor asks for every decode matmul) */
  private readonly mmaWhy: string;
  private constructor(private ctx: GpuContext) {
    this.dummy = ctx.memory.create('matmul.unused', 16);
    this.mmaWhy = mmaSupport(ctx);
  }

  static async create(ctx: GpuContext): Promise<MatmulKernel> {
    return new MatmulKernel(ctx);
  }

  /** x f32[M, K] → y f32[M, ldy] columns [0, N): y (+)= x·Wᵀ + bias + lora */
  encode(rec: Recorder, x: Binding, w: Weight, y: Binding, M: number, opts: MatmulOptions = {}): void {
    const ldy = opts.ldy ?? (opts.ySwiglu ? w.N / 2 : w.N);
    const variant = opts.variant ?? this.variantFor(M);
    const lora = opts.lora ?? null;
    if (opts.xSwiglu && variant !== 'gemv') throw new Error('matmul: xSwiglu (SwiGLU fused into the x reads) is a GEMV option; hint: run swiglu first for more rows');
    if (opts.gemvX16 && variant !== 'gemv') throw new Error(`matmul: an f16 x (gemvX16) is read by the decode GEMVs only, not the ${variant} kernel (${M} rows); hint: give the f32 x`);
    const norm = opts.xNorm ?? null;
    if (norm && !(variant === 'gemv' && this.normFusable)) throw new Error(`matmul: xNorm (RMSNorm fused into the x reads) needs the unrolled GEMV bodies and ${GEMV_NORM_STORAGE_BUFFERS} storage buffers a shader (device: ${this.ctx.limits.maxStorageBuffersPerShaderStage}); hint: run rmsnorm first`);
    if (norm && opts.xSwiglu) throw new Error('matmul: xNorm and xSwiglu together are not supported');
    const save = opts.save ?? null;
    if (save && !(variant === 'gemv' && this.saveFusable)) throw new Error(`matmul: saving the stored rows (save) is for the decode GEMVs on a device with ${GEMV_SAVE_STORAGE_BUFFERS} storage buffers a shader (device: ${this.ctx.limits.maxStorageBuffersPerShaderStage}, ${variant}); hint: scatter the rows after the matmul where saveFusable is false`);
    if (save && norm) throw new Error('matmul: save and xNorm together are not supported (12 storage buffers)');
    const sums = norm?.tileSums;
    const ySumSq = opts.ySumSq;
    if (sums !== undefined && (norm?.unscaled || sums % 4 || w.K % 64)) throw new Error(`matmul: Σx² from tile sums (XNorm.tileSums) needs a scaled norm, a vec4-aligned offset (got ${sums}) and K a multiple of 64 (got ${w.K}); hint: leave tileSums out`);
    if (ySumSq !== undefined && (opts.ySwiglu || ldy !== w.N || ldy % 16 || w.parts.some((pt) => pt.rows % 16))) throw new Error(`matmul: the tile sums of y (ySumSq) need y's width to be the weight's N and a multiple of 16, parts of whole 16-row tiles and no SwiGLU store; got ldy ${ldy}, N ${w.N}, parts of ${w.parts.map((pt) => pt.rows).join(', ')} rows${opts.ySwiglu ? ', ySwiglu' : ''}; hint: leave ySumSq out`);
    if (opts.ySwiglu && (opts.accumulate || save || w.parts.length !== 1 || w.N % 2 || (lora && !this.loraFold))) throw new Error(`matmul: the SwiGLU store (ySwiglu) needs one weight part with an even row count, no accumulate or save, and the LoRA term summed by the lanes; got ${w.parts.length} parts, N = ${w.N}${opts.accumulate ? ', accumulate' : ''}${save ? ', save' : ''}${lora && !this.loraFold ? ', loraFold off' : ''}; hint: store gate|up and run swiglu`);
    // the LoRA term summed by the GEMV's lanes (loraFold): with a fused norm only for a u made without its rsqrt
    const fold = this.loraFold && variant === 'gemv' && this.gemvUnrolled && (!norm || !lora || !!lora.uUnscaled);
    if (lora?.uUnscaled && !(norm && fold)) throw new Error(`matmul: a LoRA u without the norm's rsqrt (uUnscaled) needs xNorm and the LoRA term summed in the GEMV lanes (loraFold ${this.loraFold}, ${variant}${norm ? '' : ', no xNorm'}); hint: compute u with the norm (XNorm.unscaled off) where normLoraUnscaled is false`);
    // LORA_R: the rank as a constant, so the epilogue's R-long loop unrolls (H100, G = 8: the loop with
    // a runtime trip count cost the gate|up GEMV 12 µs a dispatch, its loads one after another)
    const flags = { HAS_BIAS: w.bias ? 1 : 0, ACCUMULATE: opts.accumulate ? 1 : 0, LORA: lora ? 1 : 0, LORA_R: lora && lora.R <= LORA_R_UNROLL_MAX ? lora.R : 0, X_SWIGLU: opts.xSwiglu ? 1 : 0 };
    for (const part of w.parts) {
      const bias: Binding = w.bias ? { buffer: w.bias, offset: part.rowOffset * 4, size: part.rows * 4 } : this.dummy;
      const weights = [part.data, part.scales, w.codebook];
      const u = lora ? lora.u : this.dummy;
      const B = lora ? lora.B : this.dummy;
      const chunk = variant === 'gemv' ? GEMV_MAX_ROWS : M;
      for (let m0 = 0; m0 < M; m0 += chunk) {
        const mr = Math.min(chunk, M - m0);
        const u8 = matmulParams(mr, part.rows, w.K, ldy, part.rowOffset, w.N, m0, lora, norm?.eps, sums ?? ySumSq ?? 0);
        const bindings = [x, ...weights, bias, y, u, B, norm?.w ?? null, ...(save ? [save.pos, save.map, save.dst] : [])];
        const mma = variant === 'gemv' && this.mmaFor(w, mr, opts);
        const staged = variant === 'gemv' && !mma && this.stagedFor(w, mr, opts, !!norm);
        const rowLane = variant === 'gemv' && !staged && !mma ? this.rowLaneFor(w, mr, opts, !!norm) : null;
        if ((sums !== undefined || ySumSq !== undefined) && !mma) throw new Error(`matmul: tile sums of squares (XNorm.tileSums, ySumSq) are the subgroup-matrix matmul's, and ${mr} rows of x (rows ${m0}–${m0 + mr - 1}) of ${w.format} ${w.N}×${w.K} take another kernel here; hint: ask mmaEvery first`);
        if (opts.ySwiglu && !(variant === 'gemv' && this.gemvUnrolled)) throw new Error(`matmul: the SwiGLU store (ySwiglu) is the decode GEMVs' with the unrolled bodies; got ${variant}${this.gemvUnrolled ? '' : ', loop form'}; hint: ask MatmulKernel.swigluOutFor first`);
        if (mma) {
          const swiglu = !!opts.ySwiglu;
          const nt = opts.mmaTiles ?? mmaTiles(part.rows, swiglu);
          checkOption('mmaTiles', nt, MMA_TILES_OPTIONS);
          if (swiglu && nt < 2) throw new Error(`subgroup-matrix matmul: the SwiGLU store pairs a gate tile with its up tile, so mmaTiles must be 2 or more, got ${nt}`);
          const tag = `${save ? '_save' : ''}${swiglu ? '_swiglu' : ''}${sums !== undefined ? '_sqin' : ''}${ySumSq !== undefined ? '_sqout' : ''}`;
          const sgs = opts.mmaSubgroups ?? this.mmaSubgroupsFor(nt);
          checkOption('mmaSubgroups', sgs, MMA_SUBGROUPS_OPTIONS);
          const asked = { KC: opts.mmaChunk ?? (nt === 1 ? this.mmaChunk1 : nt <= sgs / 2 ? this.mmaChunk2 : 64), rounds: opts.mmaRounds ?? (nt === 1 ? this.mmaRounds1 : this.mmaRounds2) }; // (32 needs NT ≤ SGS / 2)
          checkOption('mmaChunk', asked.KC, MMA_CHUNK_OPTIONS);
          checkOption('mmaRounds', asked.rounds, MMA_ROUNDS_OPTIONS);
          const decode = opts.mmaDecode ?? this.mmaDecode;
          // a layout over the device's workgroup memory: the smallest instead, unless the call named its own
          const limit = this.ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
          const lut = fmtLut(w.format, decode);
          const { KC: kc, rounds } = mmaFitLayout(nt, asked.KC, asked.rounds, lut, limit, sgs);
          if ((kc !== asked.KC && opts.mmaChunk !== undefined) || (rounds !== asked.rounds && opts.mmaRounds !== undefined)) throw new Error(`subgroup-matrix matmul: ${nt} tiles a workgroup with ${asked.KC}-weight chunks and results rounds ${asked.rounds} need ${mmaWorkgroupBytes(nt, asked.KC, asked.rounds, lut, sgs)} bytes of workgroup memory, the device allows ${limit}; hint: leave mmaChunk and mmaRounds out (the kernel then takes its smallest layout)`);
          const consts = { ...flags, ...mmaConstants(nt, kc, rounds, sgs), LORA_MMA: lora && this.mmaLoraFor(lora, w.N, nt, part.rowOffset, sgs) ? 1 : 0, PF: opts.mmaPrefetch ?? (nt === 1 ? this.mmaPrefetch1 : 1), Y_SWIGLU: swiglu ? 1 : 0, SQ_IN: sums !== undefined ? 1 : 0, SQ_OUT: ySumSq !== undefined ? 1 : 0, LORA_UNSCALED: lora?.uUnscaled ? 1 : 0, MMA_DEBUG: opts.mmaDebug ?? 0, MMA_DECODE: decode, ...(opts.mmaSerial ? { MMA_SERIAL: 1 } : {}) };
          const fmt = w.format as 'q4' | 'bf16'; // mmaShapeOk
          const reader = fmt === 'q4' ? q4WideCode : bf16Code;
          const pl = this.ctx.pipelines.getSync(`matmul_mma_${fmt}${tag}${norm ? '_norm' : ''}`, composeSource(MMA_ENABLE, reader, epilogueCode, save ? saveRowCode : NO_SAVE, norm ? MMA_NORM : MMA_NO_NORM, fmt === 'q4' ? (lut ? MMA_Q4_LUT : MMA_Q4_NO_LUT) : '', MMA_DECODES[fmt], mmaBody), consts);
          rec.dispatch(pl, u8, bindings, grid1d(mmaWorkgroups(part.rows, nt, swiglu)));
        } else if (staged) {
          const nr = opts.ySwiglu ? 2 : opts.gemvRows ?? gemvLayout(mr, part.rows, w.K, 32).rows;
          const lanes = opts.gemvLanes ?? stagedLanes(part.rows, nr, this.gemvStagedWorkgroups, mr);
          checkOption('gemvRows', nr, GEMV_ROWS_OPTIONS);
          checkOption('staged GEMV: gemvLanes', lanes, STAGED_LANES_OPTIONS);
          if (lanes < mr) throw new Error(`staged GEMV: ${lanes} lanes a row for ${mr} rows of x; lane m stores row m's sums, so it needs at least ${mr}; hint: gemvLanes ${stagedLaneOptions(mr)[0]}`);
          const bo = { norm: !!norm, unscaled: !!norm?.unscaled, sg: this.scatterWidth, loraFold: fold, swiglu: !!opts.ySwiglu, staged: w.K / 4 };
          const tag = `${save ? '_save' : ''}${opts.ySwiglu ? '_swiglu' : ''}`;
          const red = this.gemvRedFloats(mr, lanes, bo.sg, bo.norm && !bo.unscaled, opts.gemvRedSized);
          const pl = this.gemvPipeline(`matmul_gemv_staged_q4${tag}`, q4WideCode, gemvStagedBody(mr, nr, bo), { ...flags, MR: mr, NR: nr, LANES: lanes, RED_F32: red }, !!save);
          rec.dispatch(pl, u8, bindings, grid1d(ceilDiv(part.rows, (256 / lanes) * nr)));
        } else if (rowLane) {
          const nr = opts.ySwiglu ? 2 : opts.gemvRows ?? rowLane.rows;
          const lanes = opts.gemvLanes ?? rowLane.lanes;
          checkOption('gemvRows', nr, GEMV_ROWS_OPTIONS);
          checkOption('row-lane GEMV: gemvLanes', lanes, ROWLANE_LANES_OPTIONS);
          const threads = opts.gemvThreads ?? rowLane.threads;
          const body = gemvRowLaneBody(mr, nr, { norm: !!norm, loraFold: fold, redFloats: this.rowLaneRedFloats(mr, !!norm), threads, swiglu: !!opts.ySwiglu });
          const pl = this.ctx.pipelines.getSync(`matmul_gemv_rowlane_q4${save ? '_save' : ''}${opts.ySwiglu ? '_swiglu' : ''}`, composeSource(q4WideCode, epilogueCode, save ? saveRowCode : NO_SAVE, body), { ...flags, RL: lanes });
          rec.dispatch(pl, u8, bindings, grid1d(ceilDiv(part.rows, lanes * nr)));
        } else if (variant === 'gemv') {
          const x16 = this.x16For(w, opts, !!norm);
          const wide = !x16 && this.gemvWide(w, opts.gemvWide);
          const step4 = !x16 && this.gemvStep4For(w, mr, wide, opts.gemvStep4);
          const shape = gemvLayout(mr, part.rows, w.K, wide ? 32 : 8, step4, this.gemvWalk);
          const nr = opts.ySwiglu ? 2 : opts.gemvRows ?? shape.rows; // the SwiGLU store: a gate|up pair a lane group
          const lanes = opts.gemvLanes ?? shape.lanes;
          checkOption('gemvRows', nr, GEMV_ROWS_OPTIONS);
          checkOption('gemvLanes', lanes, GEMV_LANES_OPTIONS);
          const prologue = !!norm && !norm.unscaled && (opts.gemvNormPrologue ?? mr >= this.gemvNormPrologueRows);
          const constants = { ...flags, MR: mr, NR: nr, LANES: lanes, RED_F32: this.gemvRedFloats(mr, lanes, this.scatterWidth, prologue, opts.gemvRedSized) };
          const bo: BodyOpts = { norm: !!norm, unscaled: !!norm?.unscaled, steps: x16 ? 1 : this.stepsFor(opts.gemvSteps), sg: this.scatterWidth, loraFold: fold, prologue, swiglu: !!opts.ySwiglu, x16 };
          const tag = `${save ? '_save' : ''}${opts.ySwiglu ? '_swiglu' : ''}${x16 ? '_x16' : ''}`;
          const pl = wide
            ? this.gemvPipeline(`matmul_gemv_wide_q4${tag}`, q4WideCode, this.gemvUnrolled ? gemvWideBody(mr, nr, bo) : gemvWideCode, constants, !!save)
            : this.gemvPipeline(`matmul_gemv_${w.format}${tag}`, SNIPPETS[w.format], step4 ? gemvBody4(mr, nr, bo) : this.gemvUnrolled ? gemvBody(mr, nr, bo) : gemvCode, constants, !!save, x16);
          rec.dispatch(pl, u8, bindings, grid1d(ceilDiv(part.rows, (256 / lanes) * nr)));
        } else {
          const tm = tiledRows(opts.tiledRows, mr);
          const grid: [number, number] = [ceilDiv(part.rows, 64), ceilDiv(mr, 16 * tm)];
          const splits = opts.split && !lora ? this.splitsFor(grid, ceilDiv(w.K, 16), mr * part.rows, opts.split) : 1;
          if (splits > 1 && opts.split) {
            // K in `splits` chunks of whole 16-k steps: partials [splits, M, part.rows] in the scratch, then summed into y
            const chunk = ceilDiv(ceilDiv(w.K, 16), splits) * 16;
            const layers = ceilDiv(w.K, chunk);
            const pl = this.pipeline('matmul_tiled', composeSource(epilogueCode, NO_SAVE, tiledCode), w.format, { ...flags, ACCUMULATE: 0, TM: tm, KCHUNK: chunk });
            rec.dispatch(pl, u8, [x, ...weights, bias, opts.split.scratch, u, B, null], [...grid, layers]);
            encodeSumParts(this.ctx, rec, opts.split.scratch, y, { M: mr, N: part.rows, splits: layers, ldc: ldy, offC: m0 * ldy + part.rowOffset, beta: opts.accumulate ? 1 : 0 });
          } else {
            const pl = this.pipeline('matmul_tiled', composeSource(epilogueCode, NO_SAVE, tiledCode), w.format, { ...flags, TM: tm });
            rec.dispatch(pl, u8, bindings, grid);
          }
        }
      }
    }
  }

  /**
   * The kernel M rows take: GEMV for decode-sized M, tiled otherwise. Software adapters (SwiftShader)
   * pay per workgroup, not per byte: the tiled kernel's few large workgroups beat the GEMV's there.
   */
  variantFor(M: number): 'gemv' | 'tiled' {
    if (this.variantOverride) return this.variantOverride;
    return M <= GEMV_VARIANT_MAX_ROWS && !this.ctx.adapter.isFallback ? 'gemv' : 'tiled';
  }

  /**
   * y[m, 0..N) = x[m, :]·A[n, :] for a dense f32 A [N, K] (K a multiple of 8), by the GEMV in a
   * dispatch per 16 rows of x (or one, a workgroup row per row of x: denseRowGrid): the LoRA
   * u = x·Aᵀ at decode sizes (the general f32 matmul splits K there: two dispatches of mostly idle
   * 256-row tiles).
   */
  encodeDenseGemv(rec: Recorder, x: Binding, a: Binding, y: Binding, M: number, N: number, K: number, opts: { ldy?: number; xSwiglu?: boolean; xNorm?: XNorm | null; gemvSteps?: number } = {}): void {
    const norm = opts.xNorm ?? null;
    if (norm && !this.normFusable) throw new Error(`encodeDenseGemv: xNorm needs the unrolled GEMV bodies and ${GEMV_NORM_STORAGE_BUFFERS} storage buffers a shader (device: ${this.ctx.limits.maxStorageBuffersPerShaderStage}); hint: run rmsnorm first`);
    if (K % 8) throw new Error(`encodeDenseGemv: K = ${K} must be a multiple of 8`);
    const ldy = opts.ldy ?? N;
    const bindings = [x, a, null, null, this.dummy, y, this.dummy, this.dummy, norm?.w ?? null];
    const body = (mr: number, rows: number) => (this.gemvUnrolled ? gemvBody(mr, rows, { norm: !!norm, unscaled: !!norm?.unscaled, steps: this.stepsFor(opts.gemvSteps), sg: this.scatterWidth }) : gemvCode);
    const flags = { HAS_BIAS: 0, ACCUMULATE: 0, LORA: 0, X_SWIGLU: opts.xSwiglu ? 1 : 0 };
    const red = (mr: number, lanes: number) => this.gemvRedFloats(mr, lanes, this.scatterWidth, false);
    if (this.denseRowGrid && this.gemvUnrolled && M > 1 && M <= 65535) {
      // a workgroup row per row of x: each workgroup streams one row of x, where all rows of x in the
      // same workgroups leave most SMs idle (the LoRA u: N = 16–48 rows, as many workgroups)
      const one = gemvLayout(1, N, K);
      const gx = ceilDiv(N, (256 / one.lanes) * one.rows);
      if (gx <= 65535) {
        const u8 = matmulParams(1, N, K, ldy, 0, N, 0, null, norm?.eps);
        rec.dispatch(this.gemvPipeline('matmul_gemv_f32', f32Code, body(1, one.rows), { ...flags, MR: 1, NR: one.rows, LANES: one.lanes, MGRID: 1, RED_F32: red(1, one.lanes) }), u8, bindings, [gx, M]);
        return;
      }
    }
    for (let m0 = 0; m0 < M; m0 += GEMV_MAX_ROWS) {
      const mr = Math.min(GEMV_MAX_ROWS, M - m0);
      const u8 = matmulParams(mr, N, K, ldy, 0, N, m0, null, norm?.eps);
      const { rows, lanes } = gemvLayout(mr, N, K);
      rec.dispatch(this.gemvPipeline('matmul_gemv_f32', f32Code, body(mr, rows), { ...flags, MR: mr, NR: rows, LANES: lanes, RED_F32: red(mr, lanes) }), u8, bindings, grid1d(ceilDiv(N, (256 / lanes) * rows)));
    }
  }

  private stepsFor(want?: number): number {
    const u = want ?? this.gemvSteps;
    checkOption('gemvSteps', u, GEMV_STEPS_OPTIONS);
    return u;
  }

  /**
   * Whether the GEMVs can apply the RMSNorm of their x (MatmulOptions.xNorm): the unrolled bodies,
   * and a device that lets a shader bind GEMV_NORM_STORAGE_BUFFERS storage buffers (the WebGPU
   * default is 8; most desktop adapters give 10 or more, and acquireDevice asks for the adapter's).
   */
  get normFusable(): boolean {
    return this.gemvUnrolled && (this.ctx.limits.maxStorageBuffersPerShaderStage ?? 0) >= GEMV_NORM_STORAGE_BUFFERS;
  }

  /**
   * Whether the decode GEMVs can copy their stored rows to a training-layout buffer (MatmulOptions.save):
   * a device that lets a shader bind GEMV_SAVE_STORAGE_BUFFERS storage buffers (the WebGPU default is 8).
   */
  get saveFusable(): boolean {
    return (this.ctx.limits.maxStorageBuffersPerShaderStage ?? 0) >= GEMV_SAVE_STORAGE_BUFFERS;
  }

  /** GEMV layout for M rows of x and weight w: output rows per lane group and lanes per row (gemvLayout). */
  gemvShape(M: number, w: Weight): { rows: number; lanes: number } {
    const wide = this.gemvWide(w);
    return gemvLayout(M, w.N, w.K, wide ? 32 : 8, this.gemvStep4For(w, M, wide), this.gemvWalk);
  }

  /** Whether w takes the wide GEMV: only when asked (`want`; q4 with K % 32 = 0), see the measurements below. */
  gemvWide(w: Weight, want?: boolean): boolean {
    const can = w.format === 'q4' && w.K % 32 === 0;
    // default: never. An H200 (2026-12-05, loop-form bodies) ran it faster at M = 1 (0.024 vs 0.030 ms,
    // 8960×1536), but two H100 runs the same day ran the 8-weight GEMV 2× faster at M = 1 (0.013 vs
    // 0.026 ms, unrolled; 0.014 vs 0.025 loop form), and it is 2.6–4× slower at M = 8 and 16 everywhere;
    // for q|k|v, o and down at M = 1 an H200's G = 1 step pass went 1.684 → 1.869 ms (2026-12-07)
    if (want === undefined) return false;
    if (want && !can) throw new Error(`the wide GEMV needs q4 weights with K a multiple of 32; got ${w.format}, K = ${w.K}`);
    return want;
  }

  /**
   * The backward through a frozen weight: dx f32[M, K] (+)= dy[M, 0..N) · W, dy with row stride ldy
   * (default N). Parts of a split weight accumulate one after another. tiledRows: as encode's.
   */
  encodeTransposed(rec: Recorder, dy: Binding, w: Weight, dx: Binding, M: number, opts: { ldy?: number; accumulate?: boolean; tiledRows?: 4 | 8; split?: SplitK } = {}): void {
    const ldy = opts.ldy ?? w.N;
    const tm = tiledRows(opts.tiledRows, M);
    w.parts.forEach((part, i) => {
      const acc = i > 0 || opts.accumulate ? 1 : 0;
      const u = params([['u32', M], ['u32', part.rows], ['u32', w.K], ['u32', ldy], ['u32', part.rowOffset]]);
      const grid: [number, number] = [ceilDiv(w.K, 64), ceilDiv(M, 16 * tm)];
      const splits = opts.split ? this.splitsFor(grid, ceilDiv(part.rows, 16), M * w.K, opts.split) : 1;
      if (splits > 1 && opts.split) {
        // this part's N rows in `splits` chunks of whole 16-row steps: partials [splits, M, K] in the scratch, then summed into dx
        const chunk = ceilDiv(ceilDiv(part.rows, 16), splits) * 16;
        const layers = ceilDiv(part.rows, chunk);
        const pl = this.pipeline('matmul_t', transCode, w.format, { ACCUMULATE: 0, TM: tm, NCHUNK: chunk });
        rec.dispatch(pl, u, [dy, part.data, part.scales, w.codebook, opts.split.scratch], [...grid, layers]);
        encodeSumParts(this.ctx, rec, opts.split.scratch, dx, { M, N: w.K, splits: layers, ldc: w.K, offC: 0, beta: acc });
        return;
      }
      const pl = this.pipeline('matmul_t', transCode, w.format, { ACCUMULATE: acc, TM: tm });
      rec.dispatch(pl, u, [dy, part.data, part.scales, w.codebook, dx], grid);
    });
  }

  /**
   * Split-K chunks for a tiled grid of `grid` workgroups over `steps` 16-wide reduction steps with
   * `outFloats` outputs: enough grid layers for about splitWorkgroups workgroups where the grid has
   * fewer than half that, each chunk at least splitMinSteps steps, as many as the scratch holds
   * (a requested count: capped by the scratch and the steps only).
   */
  splitsFor(grid: [number, number], steps: number, outFloats: number, split: SplitK): number {
    const tiles = grid[0] * grid[1];
    const cap = Math.floor(split.scratch.size / 4 / outFloats);
    if (split.splits !== undefined) return Math.max(1, Math.min(split.splits, cap, steps));
    const want = this.splitWorkgroups > 0 && 2 * tiles < this.splitWorkgroups ? ceilDiv(this.splitWorkgroups, tiles) : 1;
    return Math.max(1, Math.min(want, cap, Math.floor(steps / this.splitMinSteps)));
  }

  private pipeline(name: string, body: string, format: WeightFormat, constants: Record<string, number>): GPUComputePipeline {
    return this.ctx.pipelines.getSync(`${name}_${format}`, composeSource(SNIPPETS[format], body), constants);
  }

  /** A GEMV: row reduction + weight reader + epilogue + GEMV layout + body (8-weight or wide). */
  private gemvPipeline(label: string, reader: string, body: string, constants: Record<string, number>, save = false, f16 = false): GPUComputePipeline {
    const parts = [this.gemvReduce, reader, epilogueCode, save ? saveRowCode : NO_SAVE, gemvCommon, body];
    return this.ctx.pipelines.getSync(label, f16 ? composeSource(F16_ENABLE, ...parts) : composeSource(...parts), constants);
  }

  /**
   * Whether a GEMV-sized matmul of `mr` rows of x and weight w runs on subgroup matrices
   * (matmul_mma.ts): asked (opts.gemvMma), else from gemvMmaRows rows where no other body is asked
   * for; a device with them (mmaSupport), q4 with K % 64 = 0, no SwiGLU x reads or f16 x (a fused
   * norm it applies as it stages x).
   */
  mmaFor(w: Weight, mr: number, opts: MatmulOptions = {}): boolean {
    const why = this.mmaWhy;
    const can = !why && mmaShapeOk(w, !!opts.ySwiglu) && !opts.xSwiglu && !opts.gemvX16;
    if (opts.gemvMma && !can) throw new Error(`the subgroup-matrix matmul needs a device with 16×16×16 f16 subgroup matrices (here: ${why || 'yes'}), q4 or bf16 weights with K a multiple of 64 (got ${w.format}, K = ${w.K}) and no SwiGLU x reads or f16 x${opts.xSwiglu ? ' (xSwiglu given)' : ''}${opts.gemvX16 ? ' (gemvX16 given)' : ''}; hint: leave gemvMma off`);
    const want = opts.gemvMma ?? (mr >= this.gemvMmaRows && (w.format !== 'bf16' || this.mmaBf16) && opts.gemvStaged === undefined && opts.gemvRowLane === undefined && opts.gemvWide === undefined && opts.gemvStep4 === undefined);
    return can && want;
  }

  /** Subgroups a workgroup of the subgroup-matrix matmul at NT tiles by default: mmaSubgroups1 at one tile, mmaSubgroups2 up to mmaSubgroups2 / 2 tiles (the default layout's 2 tiles at 4), else 8. */
  mmaSubgroupsFor(NT: number): MmaSubgroups {
    return NT === 1 ? this.mmaSubgroups1 : NT <= this.mmaSubgroups2 / 2 ? this.mmaSubgroups2 : 8;
  }

  /** Whether the subgroup-matrix matmul of a weight of N rows with NT tiles a workgroup of SGS subgroups, part at row nOff, takes its LoRA term on the matrix units (mmaLora): rank 16, slices and the part on 16-row boundaries, NT ≤ SGS / 2 (U and B of its tiles fit the W chunks' workgroup memory). */
  mmaLoraFor(lora: LoraEpilogue, N: number, NT: number, nOff: number, SGS: MmaSubgroups = 8): boolean {
    const aligned = (v: number | undefined) => v === undefined || v >= N || v % 16 === 0;
    return this.mmaLora && lora.R === 16 && NT <= SGS / 2 && nOff % 16 === 0 && aligned(lora.slice1) && aligned(lora.slice2);
  }

  /** Whether every chunk of GEMV_MAX_ROWS rows of a decode matmul of M rows of x and weight w runs on subgroup matrices (mmaFor). */
  mmaEvery(w: Weight, M: number, opts: MatmulOptions = {}): boolean {
    if (this.variantFor(M) !== 'gemv') return false;
    for (let m0 = 0; m0 < M; m0 += GEMV_MAX_ROWS) if (!this.mmaFor(w, Math.min(GEMV_MAX_ROWS, M - m0), opts)) return false;
    return true;
  }

  /** Whether a decode matmul of w on subgroup matrices takes the RMSNorm of its x (mmaNormWorkgroups); `swiglu`: it stores silu(gate)·up. */
  mmaNormFor(w: Weight, swiglu: boolean): boolean {
    const nt = mmaTiles(w.N, swiglu);
    return this.normFusable && mmaWorkgroups(w.N, nt, swiglu) <= this.mmaNormWorkgroups;
  }

  /** Whether a GEMV of rows of K weights can read f16 x (MatmulOptions.gemvX16): shader-f16, the unrolled bodies, K a multiple of 8 (whole 16-byte x loads). */
  x16Fusable(K: number): boolean {
    return this.ctx.features.f16 && this.gemvUnrolled && K % 8 === 0;
  }

  /** Whether a GEMV reads f16 x (opts.gemvX16); refused with a hint where the device or the options cannot. */
  private x16For(w: Weight, opts: MatmulOptions, norm: boolean): boolean {
    if (!opts.gemvX16) return false;
    if (this.x16Fusable(w.K) && !norm && !opts.xSwiglu) return true;
    throw new Error(`matmul: an f16 x (gemvX16) needs shader-f16 (device: ${this.ctx.features.f16 ? 'yes' : 'no'}), the unrolled bodies${this.gemvUnrolled ? '' : ' (loop form now)'}, no fused norm or SwiGLU in the x reads and K a multiple of 8 (got ${w.K}${norm ? ', xNorm' : ''}${opts.xSwiglu ? ', xSwiglu' : ''}); hint: give the f32 x without gemvX16`);
  }

  /**
   * Whether a GEMV of `mr` rows of x and weight w stages x in workgroup memory (gemvStagedBody): asked
   * (opts.gemvStaged), else up to gemvStagedRows rows of x for weights of K ≤ gemvStagedMaxK and N ≥
   * gemvStagedMinN where no other body is asked for; q4 with K % 32 = 0, the unrolled bodies, not
   * the SwiGLU-fused x, and stagedGemvBytes within the device's workgroup memory.
   */
  stagedFor(w: Weight, mr: number, opts: MatmulOptions, norm: boolean): boolean {
    const can = this.canStage(w, mr, norm, !!opts.xSwiglu);
    if (opts.gemvStaged && !can) {
      throw new Error(`the staged GEMV needs q4 weights with K a multiple of 32, the unrolled bodies, no fused SwiGLU in its x and ${stagedGemvBytes(mr, w.K, norm)} bytes of workgroup memory; got ${w.format}, K = ${w.K}${opts.xSwiglu ? ', xSwiglu' : ''}${this.gemvUnrolled ? '' : ', loop form'}, ${this.workgroupBytes} bytes; hint: fewer rows of x a dispatch, or the lane-group GEMV (gemvStaged: false)`);
    }
    const want = opts.gemvStaged ?? (mr <= this.gemvStagedRows && w.K <= this.gemvStagedMaxK && w.N >= this.gemvStagedMinN && opts.gemvRowLane === undefined && opts.gemvWide === undefined && opts.gemvStep4 === undefined && !opts.gemvX16);
    return can && want;
  }

  /** Whether the staged GEMV can run `mr` rows of x against w here (stagedFor's conditions, asked or not). */
  canStage(w: Weight, mr: number, norm: boolean, xSwiglu = false): boolean {
    return w.format === 'q4' && w.K % 32 === 0 && this.gemvUnrolled && !xSwiglu && stagedGemvBytes(mr, w.K, norm) <= this.workgroupBytes;
  }

  /**
   * The row-lane GEMV's layout for `mr` rows of x and weight w (rows a lane, row lanes, threads), or null where
   * the lane-group GEMV runs: asked (opts.gemvRowLane), else from gemvRowLaneRows to gemvRowLaneMaxRows
   * rows of x where w has gemvRowLaneMinN rows or more; q4 with
   * K % 32 = 0, the unrolled bodies, not the wide GEMV nor the SwiGLU-fused x, and a device with
   * workgroup memory for a 256-float reduction.
   */
  rowLaneFor(w: Weight, mr: number, opts: MatmulOptions, norm: boolean): RowLaneLayout | null {
    const can = w.format === 'q4' && w.K % 32 === 0 && this.gemvUnrolled && !opts.xSwiglu && opts.gemvWide !== true && this.rowLaneRedFloats(mr, norm) >= 256;
    if (opts.gemvRowLane && !can) throw new Error(`the row-lane GEMV needs q4 weights with K a multiple of 32, the unrolled bodies, no wide GEMV or fused SwiGLU and ${(256 + rowLaneFixedFloats(mr, norm)) * 4} bytes of workgroup memory; got ${w.format}, K = ${w.K}${opts.xSwiglu ? ', xSwiglu' : ''}${opts.gemvWide ? ', wide' : ''}, ${this.ctx.limits.maxComputeWorkgroupStorageSize} bytes`);
    const want = opts.gemvRowLane ?? (mr >= this.gemvRowLaneRows && mr <= this.gemvRowLaneMaxRows && w.N >= this.gemvRowLaneMinN && opts.gemvStep4 === undefined && opts.gemvWide === undefined && !opts.gemvX16);
    return can && want ? rowLaneLayout(mr, w.N, w.K) : null;
  }

  /**
   * Whether a decode GEMV of gate|up weight w at M rows of x can store h = silu(gate)·up itself
   * (MatmulOptions.ySwiglu: a row-lane lane's or a lane group's two rows are the pair j, j + N/2):
   * swigluStore on, the unrolled GEMV bodies, one weight part, and the LoRA term summed by the lanes
   * (loraFold) — normed or not.
   */
  swigluOutFor(w: Weight, M: number): boolean {
    return this.swigluStore && this.loraFold && this.gemvUnrolled && this.variantFor(M) === 'gemv' && M <= this.swigluStoreMaxRows && w.parts.length === 1 && w.N % 2 === 0;
  }

  /**
   * Floats of the GEMV row reduction's workgroup array `red` (RED_F32) for a kernel of `lanes` lanes a
   * row whose unrolled body sums rows for subgroups of `sg` (gemv_body.ts rowSum; 0, or the loop bodies
   * (gemvUnrolled false): reduce_rows(), which may use all 2048) and, with `sums`, Σx² by the workgroup
   * (the prologue or the staged GEMV's: sumSquaresRedFloats). At least 16 (a shader array is not empty).
   */
  gemvRedFloats(mr: number, lanes: number, sg: number, sums: boolean, sized = this.gemvRedSized): number {
    if (!sized || !this.gemvUnrolled) return 2048;
    const rows = sg > 0 && lanes <= sg ? 0 : 2048;
    return Math.max(16, rows, sums ? sumSquaresRedFloats(mr) : 0);
  }

  /** floats of workgroup memory the row-lane GEMV's reduction may take on this device */
  private rowLaneRedFloats(mr: number, norm: boolean): number {
    return Math.min(16 * 256 * 2, Math.floor(this.workgroupBytes / 4) - rowLaneFixedFloats(mr, norm));
  }

  /** bytes of workgroup memory a shader may take on this device (WebGPU's default 16 KiB where the limit is not reported) */
  private get workgroupBytes(): number {
    return this.ctx.limits.maxComputeWorkgroupStorageSize ?? 16384;
  }

  /** Whether a GEMV of `mr` rows of x takes the 4-weight body: asked (`want`), else from gemvStep4Rows rows; q4 and bf16 (the LM head) with the unrolled 8-weight path only. */
  gemvStep4For(w: Weight, mr: number, wide: boolean, want?: boolean): boolean {
    const can = (w.format === 'q4' || w.format === 'bf16') && this.gemvUnrolled && !wide;
    if (want && !can) throw new Error(`the 4-weight GEMV step needs q4 or bf16 weights and the unrolled 8-weight body; got ${w.format}${wide ? ', wide' : ''}${this.gemvUnrolled ? '' : ', loop form'}`);
    return want ?? (can && mr >= (w.K <= GEMV_SHORT_K ? this.gemvStep4RowsShortK : this.gemvStep4Rows));
  }

  /** the fixed subgroup width the unrolled GEMV bodies' row sums are written for (gemvBody's sg), 0: reduce_rows() */
  private get scatterWidth(): number {
    const { subgroupMinSize: min, subgroupMaxSize: max } = this.ctx;
    return this.gemvScatter && this.gemvReduce === reduceSubgroup && min === max && (min & (min - 1)) === 0 ? min : 0;
  }

  /** GEMV row reduction: subgroup shuffles where the device has subgroups (of ≥ 2 lanes), else workgroup memory. */
  private get gemvReduce(): string {
    return this.ctx.features.subgroups && (this.ctx.subgroupMinSize ?? 0) >= 2 ? reduceSubgroup : reduceShared;
  }
}
