// General f32 matmul kernel vs the naive CPU reference: every transpose combination with every tile
// shape on odd shapes crossing tile edges, leading dimensions and offsets (sub-matrices), alpha/beta
// accumulation, the split-K path, and the LoRA products of a training step at Qwen2.5-1.5B widths.
import { afterAll, describe, expect, it } from 'vitest';
import { MatmulF32Kernel, chooseTile, type GemmOptions, type TileShape } from '../../src/kernels/matmul_f32';
import { matmulF32Ref } from '../../src/reference/matmul_f32';
import { expectClose } from '../helpers/compare';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

interface Case { name: string; M: number; N: number; K: number; opts?: GemmOptions; /** C starts as NaN (beta = 0 must not read it) */ poisonC?: boolean }

const COMBOS: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const tag = (ta: boolean, tb: boolean) => `${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'}`;

const TILE_EDGES: Record<TileShape, [number, number]> = { square: [65, 67], tall: [257, 17], wide: [17, 259] };

const CASES: Case[] = [];
for (const [transA, transB] of COMBOS) {
  const t = tag(transA, transB);
  for (const tile of ['square', 'tall', 'wide'] as TileShape[]) {
    const [Me, Ne] = TILE_EDGES[tile];
    CASES.push(
      { name: `${t} ${tile} odd M=7 N=37 K=160`, M: 7, N: 37, K: 160, opts: { transA, transB, tile }, poisonC: true },
      { name: `${t} ${tile} tile edges M=${Me} N=${Ne} K=33`, M: Me, N: Ne, K: 33, opts: { transA, transB, tile }, poisonC: true },
      { name: `${t} ${tile} split-K ×3, beta=1`, M: 9, N: 70, K: 100, opts: { transA, transB, tile, splitK: 3, beta: 1 } },
    );
  }
  CASES.push(
    { name: `${t} M=1 N=1 K=1`, M: 1, N: 1, K: 1, opts: { transA, transB }, poisonC: true },
    {
      name: `${t} padded ld + offsets, alpha=0.5 beta=1.5`, M: 19, N: 23, K: 45,
      opts: { transA, transB, lda: (transA ? 19 : 45) + 3, ldb: (transB ? 45 : 23) + 5, ldc: 30, offA: 7, offB: 2, offC: 33, alpha: 0.5, beta: 1.5 },
    },
    { name: `${t} split-K ×4, beta=0, alpha=-2`, M: 70, N: 5, K: 130, opts: { transA, transB, splitK: 4, alpha: -2 }, poisonC: true },
  );
}
// LoRA pieces of one projection at Qwen2.5-1.5B widths: x [T, C], A [R, C], B [N, R], dY [T, N]
const [T, C, R, NOUT] = [48, 1536, 16, 256];
CASES.push(
  { name: 'LoRA u = x·Aᵀ  T=48 C=1536 R=16 (default split-K)', M: T, N: R, K: C, opts: { transB: true }, poisonC: true },
  { name: 'LoRA u_k into a fused [T, 3R] u (ldc, offC)', M: T, N: R, K: C, opts: { transB: true, ldc: 3 * R, offC: R } },
  { name: 'LoRA dB = dYᵀ·u  N=256', M: NOUT, N: R, K: T, opts: { transA: true }, poisonC: true },
  { name: 'LoRA dU = dY·B', M: T, N: R, K: NOUT, poisonC: true },
  { name: 'LoRA dA = dUᵀ·x  R=16 C=1536', M: R, N: C, K: T, opts: { transA: true }, poisonC: true },
  { name: 'LoRA dX += dU·A  (beta 1)', M: T, N: C, K: R, opts: { beta: 1 } },
);

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('matmul_f32 worst relative errors', worst); });

function storedSize(rows: number, ld: number, off: number): number {
  return off + rows * ld + 3; // a few trailing elements the kernel must not touch
}

describe('matmul_f32', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const k = await MatmulF32Kernel.create(ctx);
      const o = c.opts ?? {};
      const lda = o.lda ?? (o.transA ? c.M : c.K);
      const ldb = o.ldb ?? (o.transB ? c.K : c.N);
      const ldc = o.ldc ?? c.N;
      const a = normal(c.M * 7 + c.K, storedSize(o.transA ? c.K : c.M, lda, o.offA ?? 0));
      const b = normal(c.N * 11 + c.K, storedSize(o.transB ? c.N : c.K, ldb, o.offB ?? 0));
      const cIn = normal(c.M + c.N, storedSize(c.M, ldc, o.offC ?? 0));
      if (c.poisonC) for (let m = 0; m < c.M; m++) cIn.fill(NaN, (o.offC ?? 0) + m * ldc, (o.offC ?? 0) + m * ldc + c.N);
      const want = matmulF32Ref({ ...o, M: c.M, N: c.N, K: c.K, a, b, c: cIn, lda, ldb, ldc });
      const [ab, bb, cb] = [ctx.memory.upload('a', a), ctx.memory.upload('b', b), ctx.memory.upload('c', cIn)];
      const got = await runAndRead(ctx, cb, (rec) => k.encode(rec, ab, bb, cb, c.M, c.N, c.K, o));
      worst[c.name] = expectClose(got, want, 1e-5, c.name).rel;
      [ab, bb, cb].forEach((x) => ctx.memory.destroy(x));
    });
  }

  it('chooses the tile shape from the output shape', () => {
    expect(chooseTile(2048, 2048)).toBe('square');
    expect(chooseTile(4096, 1536)).toBe('square');
    expect(chooseTile(7, 37)).toBe('square');
    expect(chooseTile(4096, 16)).toBe('tall'); // u = x·Aᵀ, dU = dY·B
    expect(chooseTile(4096, 48)).toBe('tall'); // u of a fused q|k|v
    expect(chooseTile(8960, 16)).toBe('tall'); // dB = dYᵀ·u
    expect(chooseTile(16, 1536)).toBe('wide'); // dA = dUᵀ·x
  });

  it('chooses split-K only for few output tiles and long K, within the scratch', async () => {
    const ctx = await testGpu();
    const k = await MatmulF32Kernel.create(ctx);
    expect(k.chooseSplits(2048, 2048, 2048)).toBe(1); // 1024 tiles: enough parallelism
    expect(k.chooseSplits(16, 1536, 4096)).toBe(32); // 6 wide tiles → ⌈1024/6⌉, capped at 4096/128 chunks
    expect(k.chooseSplits(4096, 16, 8960)).toBe(64); // 16 tall tiles → 64 chunks (exactly the 4 Mi-float scratch)
    expect(k.chooseSplits(16, 1536, 200)).toBe(1); // K too short to split
    const small = await MatmulF32Kernel.create(ctx, { scratchFloats: 1 << 16 });
    expect(small.chooseSplits(16, 1536, 4096)).toBe(2); // scratch holds 2 × 16·1536
    expect(small.chooseSplits(64, 64, 4096, 32)).toBe(16); // requested 32, scratch holds 16 × 64·64
    expect(small.chooseSplits(300, 300, 4096, 2)).toBe(1); // two chunks of 300·300 do not fit 65536 floats
  });

  it('rejects a leading dimension shorter than the row with a hint', async () => {
    const ctx = await testGpu();
    const k = await MatmulF32Kernel.create(ctx);
    expect(() => k.encode({} as never, {} as never, {} as never, {} as never, 4, 5, 6, { lda: 5 })).toThrow(/lda = 5 is smaller than K = 6; hint/);
    expect(() => k.encode({} as never, {} as never, {} as never, {} as never, 4, 5, 6, { transB: true, ldb: 2 })).toThrow(/ldb = 2 is smaller than K = 6/);
  });
});
