// General f32 matmul wrapper (shaders/matmul_f32.wgsl) for the LoRA pieces and backward:
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C, op ∈ {identity, transpose},
// with leading dimensions and element offsets (sub-matrices of larger buffers). The tile shape follows
// the output: 64×64, 256×16 when N is small (u = x·Aᵀ, dU = dY·B), 16×256 when M is small
// (dA = dUᵀ·x). When the output has few tiles and K is long, K is split over workgroups into a
// scratch buffer and summed by a second pass (no f32 atomics).
import code from '../../shaders/matmul_f32.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

export interface GemmOptions {
  /** A stored [K, lda] and used transposed (default false: A stored [M, lda]) */
  transA?: boolean;
  /** B stored [N, ldb] and used transposed (default false: B stored [K, ldb]) */
  transB?: boolean;
  /** leading dimensions in elements; default dense (lda = transA ? M : K, ldb = transB ? K : N, ldc = N) */
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** element offsets of A, B, C in their buffers (default 0) */
  offA?: number;
  offB?: number;
  offC?: number;
  alpha?: number;
  /** C is read only when beta ≠ 0 (default 0) */
  beta?: number;
  /** K chunks (1: no split); default chosen from the shape */
  splitK?: number;
  /** tile shape; default chosen from the shape */
  tile?: TileShape;
  /** vec4s of padding per staged row in workgroup memory (tuning; default the shader's) */
  pad?: number;
}

export type TileShape = 'square' | 'tall' | 'wide';
/** WX threads along n (4 columns each) of 256: tiles of BM = 1024/WX rows × BN = 4·WX columns; BK k per step. */
const TILES: Record<TileShape, { WX: number; BK: number; BM: number; BN: number }> = {
  square: { WX: 16, BK: 16, BM: 64, BN: 64 },
  tall: { WX: 4, BK: 8, BM: 256, BN: 16 },
  wide: { WX: 64, BK: 8, BM: 16, BN: 256 },
};
/** Split K only when the output has fewer tiles than this (the GPU would otherwise idle). */
const FEW_TILES = 256;
const MIN_K_PER_SPLIT = 128;
/** Enough 256-thread workgroups to fill a large GPU (H100: 132 SMs × 8) */
const TARGET_WORKGROUPS = 1024;

export class MatmulF32Kernel {
  private scratch: GPUBuffer | null = null;
  private constructor(private ctx: GpuContext, private scratchFloats: number) {}

  /** scratchFloats: capacity of the split-K scratch (allocated on first use; default 4 Mi floats = 16 MiB) */
  static async create(ctx: GpuContext, opts: { scratchFloats?: number } = {}): Promise<MatmulF32Kernel> {
    return new MatmulF32Kernel(ctx, opts.scratchFloats ?? 1 << 22);
  }

  /** a, b, c f32 buffers laid out as GemmOptions says → c's M×N window = alpha·op(A)·op(B) + beta·C */
  encode(rec: Recorder, a: Binding, b: Binding, c: Binding, M: number, N: number, K: number, opts: GemmOptions = {}): void {
    const transA = opts.transA ?? false;
    const transB = opts.transB ?? false;
    const lda = opts.lda ?? (transA ? M : K);
    const ldb = opts.ldb ?? (transB ? K : N);
    const ldc = opts.ldc ?? N;
    checkLd('lda', lda, transA ? M : K, transA ? 'M' : 'K');
    checkLd('ldb', ldb, transB ? K : N, transB ? 'K' : 'N');
    checkLd('ldc', ldc, N, 'N');
    if (M === 0 || N === 0) return;
    const shape = opts.tile ?? chooseTile(M, N);
    const t = TILES[shape];
    const splits = this.chooseSplits(M, N, K, opts.splitK, shape);
    const kChunk = splits > 1 ? ceilDiv(ceilDiv(K, splits), 16) * 16 : K;
    const s = splits > 1 ? ceilDiv(K, kChunk) : 1;
    const u = params([
      ['u32', M], ['u32', N], ['u32', K], ['u32', lda], ['u32', ldb], ['u32', ldc],
      ['u32', opts.offA ?? 0], ['u32', opts.offB ?? 0], ['u32', opts.offC ?? 0],
      ['f32', opts.alpha ?? 1], ['f32', opts.beta ?? 0], ['u32', kChunk], ['u32', s],
    ]);
    const constants = { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0, WX: t.WX, BK: t.BK, ...(opts.pad === undefined ? {} : { PAD: opts.pad }) };
    const tiles: [number, number, number] = [ceilDiv(N, t.BN), ceilDiv(M, t.BM), s];
    if (s === 1) {
      rec.dispatch(this.pipeline('main', constants), u, [a, b, c], tiles);
      return;
    }
    this.scratch ??= this.ctx.memory.create('matmul_f32.splitk', this.scratchFloats * 4);
    rec.dispatch(this.pipeline('partial', constants), u, [a, b, null, this.scratch], tiles);
    encodeSumParts(this.ctx, rec, this.scratch, c, { M, N, splits: s, ldc, offC: opts.offC ?? 0, beta: opts.beta ?? 0 });
  }

  /** How many K chunks the default heuristic (or a requested count, capped by the scratch) gives. */
  chooseSplits(M: number, N: number, K: number, requested?: number, shape: TileShape = chooseTile(M, N)): number {
    const tiles = ceilDiv(M, TILES[shape].BM) * ceilDiv(N, TILES[shape].BN);
    let s = requested ?? (tiles < FEW_TILES ? Math.min(ceilDiv(TARGET_WORKGROUPS, tiles), Math.floor(K / MIN_K_PER_SPLIT)) : 1);
    s = Math.min(s, Math.floor(this.scratchFloats / (M * N)), ceilDiv(K, 16));
    return Math.max(1, s);
  }

  private pipeline(entry: 'main' | 'partial' | 'reduce', constants: Record<string, number>): GPUComputePipeline {
    return this.ctx.pipelines.getSync('matmul_f32', code, constants, entry);
  }
}

/** The tile shape that wastes least on padding (square preferred: it reuses each load most). */
export function chooseTile(M: number, N: number): TileShape {
  let best: TileShape = 'square';
  let bestCost = Infinity;
  for (const [shape, t] of Object.entries(TILES) as Array<[TileShape, (typeof TILES)[TileShape]]>) {
    const cost = ceilDiv(M, t.BM) * t.BM * ceilDiv(N, t.BN) * t.BN * (shape === 'square' ? 1 : 1.15);
    if (cost < bestCost) { best = shape; bestCost = cost; }
  }
  return best;
}

function checkLd(name: string, ld: number, min: number, dim: string): void {
  if (!Number.isInteger(ld) || ld < min) throw new Error(`matmul_f32: ${name} = ${ld} is smaller than ${dim} = ${min}; hint: a leading dimension is the stored row length`);
}

/**
 * The second pass of a split-K matmul (this one's, and the 4-bit tiled kernels' of matmul.ts):
 * C[m, n] (at offC + m·ldc + n) = Σ_s part[s, M, N] + beta · C, by matmul_f32.wgsl's `reduce`.
 */
export function encodeSumParts(ctx: GpuContext, rec: Recorder, part: Binding, c: Binding, o: { M: number; N: number; splits: number; ldc: number; offC: number; beta: number }): void {
  const u = params([
    ['u32', o.M], ['u32', o.N], ['u32', 0], ['u32', 0], ['u32', 0], ['u32', o.ldc],
    ['u32', 0], ['u32', 0], ['u32', o.offC], ['f32', 1], ['f32', o.beta], ['u32', 0], ['u32', o.splits],
  ]);
  rec.dispatch(ctx.pipelines.getSync('matmul_f32', code, {}, 'reduce'), u, [null, null, c, part], grid1d(ceilDiv(o.M * o.N, 256)));
}
