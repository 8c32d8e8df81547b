// 4-bit matmul wrapper: y = x·Wᵀ (+ bias) for a q4 weight on the GPU (layout: src/formats/q4.ts).
// M ≤ 16 rows use the GEMV kernel (decode), more rows the 64×64-tiled kernel (prefill, training).
// Weights larger than the binding limit are split into row ranges, one dispatch per part.
import gemvCode from '../../shaders/matmul_q4_gemv.wgsl?raw';
import tiledCode from '../../shaders/matmul_q4_tiled.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { blocksPerRow, checkQ4Shape, sliceRowsQ4, type Q4Host } from '../formats/q4';
import { ceilDiv, grid1d } from './grid';

export const GEMV_MAX_ROWS = 16;

/** One row range of a q4 weight in its own buffers. */
export interface Q4Part {
  rowOffset: number;
  rows: number;
  codes: GPUBuffer;
  scales: GPUBuffer;
}

/** A q4 weight W [N, K] on the GPU, with optional f32 bias [N]. */
export interface Q4Tensor {
  N: number;
  K: number;
  parts: Q4Part[];
  codebook: GPUBuffer;
  bias: GPUBuffer | null;
  bytes: number;
}

/** Bytes of codes + scales of `rows` rows. */
export function q4RowBytes(K: number): number {
  return K / 2 + blocksPerRow(K) * 2;
}

/** Uploads a host q4 tensor, splitting rows (in multiples of 64) so every part fits one binding. */
export function uploadQ4(ctx: GpuContext, q: Q4Host, label: string, bias?: Float32Array, maxBinding = ctx.limits.maxStorageBufferBindingSize): Q4Tensor {
  checkQ4Shape(q.N, q.K);
  const rowsPerPart = Math.max(64, Math.floor(maxBinding / (q.K / 2) / 64) * 64);
  const parts: Q4Part[] = [];
  let bytes = 0;
  for (let n0 = 0; n0 < q.N; n0 += rowsPerPart) {
    const n1 = Math.min(q.N, n0 + rowsPerPart);
    const part = parts.length === 0 && n1 === q.N ? q : sliceRowsQ4(q, n0, n1);
    const codes = ctx.memory.upload(`${label}.codes[${n0}]`, part.codes);
    const scales = ctx.memory.upload(`${label}.scales[${n0}]`, part.scales);
    parts.push({ rowOffset: n0, rows: n1 - n0, codes, scales });
    bytes += codes.size + scales.size;
  }
  const codebook = ctx.memory.upload(`${label}.codebook`, q.codebook);
  const b = bias ? ctx.memory.upload(`${label}.bias`, bias) : null;
  return { N: q.N, K: q.K, parts, codebook, bias: b, bytes: bytes + 64 + (b ? b.size : 0) };
}

export function destroyQ4(ctx: GpuContext, t: Q4Tensor): void {
  for (const p of t.parts) { ctx.memory.destroy(p.codes); ctx.memory.destroy(p.scales); }
  ctx.memory.destroy(t.codebook);
  ctx.memory.destroy(t.bias);
}

export class MatmulQ4Kernel {
  private dummy: GPUBuffer;
  private constructor(private ctx: GpuContext) {
    this.dummy = ctx.memory.create('matmul_q4.nobias', 16);
  }

  static async create(ctx: GpuContext): Promise<MatmulQ4Kernel> {
    const k = new MatmulQ4Kernel(ctx);
    await Promise.all([ctx.pipelines.get('matmul_q4_tiled', tiledCode, { HAS_BIAS: 0 }), ctx.pipelines.get('matmul_q4_gemv', gemvCode, { MR: 1, HAS_BIAS: 0 })]);
    return k;
  }

  /**
   * x f32[M, K] → y f32[M, ldy] at columns [0, N) (ldy defaults to N). `variant` forces a kernel.
   */
  encode(rec: Recorder, x: Binding, w: Q4Tensor, y: Binding, M: number, opts: { ldy?: number; variant?: 'gemv' | 'tiled' } = {}): void {
    const ldy = opts.ldy ?? w.N;
    const variant = opts.variant ?? (M <= GEMV_MAX_ROWS ? 'gemv' : 'tiled');
    const hasBias = w.bias ? 1 : 0;
    for (const part of w.parts) {
      const u = params([['u32', M], ['u32', part.rows], ['u32', w.K], ['u32', ldy], ['u32', part.rowOffset]]);
      const bias: Binding = w.bias ? { buffer: w.bias, offset: part.rowOffset * 4, size: part.rows * 4 } : this.dummy;
      const bindings = [x, part.codes, part.scales, w.codebook, bias, y];
      if (variant === 'gemv') {
        for (let m0 = 0; m0 < M; m0 += GEMV_MAX_ROWS) {
          const mr = Math.min(GEMV_MAX_ROWS, M - m0);
          const pl = this.ctx.pipelines.getSync('matmul_q4_gemv', gemvCode, { MR: mr, HAS_BIAS: hasBias });
          const um = params([['u32', mr], ['u32', part.rows], ['u32', w.K], ['u32', ldy], ['u32', part.rowOffset]]);
          const xs = sliceRows(x, m0, w.K * 4);
          const ys = sliceRows(y, m0, ldy * 4);
          rec.dispatch(pl, um, [xs, part.codes, part.scales, w.codebook, bias, ys], grid1d(ceilDiv(part.rows, 8)));
        }
      } else {
        const pl = this.ctx.pipelines.getSync('matmul_q4_tiled', tiledCode, { HAS_BIAS: hasBias });
        rec.dispatch(pl, u, bindings, [ceilDiv(part.rows, 64), ceilDiv(M, 64)]);
      }
    }
  }
}

/** The binding starting at row m0 of a row-major matrix with rowBytes bytes per row. */
function sliceRows(b: Binding, m0: number, rowBytes: number): Binding {
  if (m0 === 0) return b;
  const buf = 'buffer' in b ? b : { buffer: b, offset: 0 };
  const offset = (buf.offset ?? 0) + m0 * rowBytes;
  return { buffer: buf.buffer, offset, size: buf.size !== undefined ? buf.size - m0 * rowBytes : undefined };
}
