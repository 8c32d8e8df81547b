// Quantize-at-load kernel wrapper (shaders/quantize_q4.wgsl): a checkpoint tensor's raw F32/BF16/F16
// bytes [rows, K], uploaded as they are, → q4 codes + f16 scales written at a row offset of a
// destination part (so q, k, v land in the fused q|k|v weight, gate and up in gate|up, with no
// extra copy). Bit-exact with quantizeQ4 (src/formats/q4.ts) for any codebook whose midpoints fit.
import code from '../../shaders/quantize_q4.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { TabZeroError } from '../gpu/errors';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { checkQ4Shape, scaleStride } from '../formats/q4';
import { ceilDiv, grid1d } from './grid';

export type RawFloatDtype = 'F32' | 'BF16' | 'F16';

const DTYPE_CODE: Record<RawFloatDtype, number> = { F32: 0, BF16: 1, F16: 2 };
export const RAW_BYTES: Record<RawFloatDtype, number> = { F32: 4, BF16: 2, F16: 2 };

/** threads per workgroup: one code word (8 weights) each, so WG/8 blocks per workgroup */
export const QUANTIZE_WG = 64;

/** A buffer, or a window of one (a WeightPart may be either). */
export type Region = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/** A q4 destination: one WeightPart's codes and scales. */
export interface Q4Target {
  data: Region;
  scales: Region | null;
  rows: number;
}

/**
 * The kernel's search table for a codebook (u32[64]): [0] the number M of midpoints, [1 + k] the code
 * of the k-th smallest distinct value (k ≤ M; the first code wins among equal values, as in
 * quantizeQ4), then for each midpoint (u_k + u_{k+1})/2, exact: mantissa [17 + i] (u32), exponent
 * [32 + i] (i32) and sign [47 + i], value = ±mantissa · 2^exponent.
 */
export function codebookTable(codebook: Float32Array): Uint32Array {
  if (codebook.length < 1 || codebook.length > 16 || codebook.some((v) => !Number.isFinite(v))) {
    throw new TabZeroError(`a q4 codebook needs 1–16 finite values, got ${codebook.length}: [${Array.from(codebook).join(', ')}]`, 'this is a bug in the caller');
  }
  const order = Array.from(codebook.keys()).sort((a, b) => codebook[a] - codebook[b]);
  const uniq = order.filter((c, i) => i === 0 || codebook[c] !== codebook[order[i - 1]]);
  const t = new Uint32Array(64);
  const M = uniq.length - 1;
  t[0] = M;
  uniq.forEach((c, k) => { t[1 + k] = c; });
  for (let i = 0; i < M; i++) {
    const m = (codebook[uniq[i]] + codebook[uniq[i + 1]]) / 2; // exact in f64 for ordinary codebooks
    const [mant, exp] = exactBinary(Math.abs(m), codebook);
    t[17 + i] = mant;
    t[32 + i] = exp >>> 0;
    t[47 + i] = m < 0 ? 1 : 0;
  }
  return t;
}

/** x = mant · 2^exp with an integer mant < 2^32 (0 for x = 0); throws when x needs more bits. */
function exactBinary(x: number, codebook: Float32Array): [number, number] {
  if (x === 0) return [0, 0];
  let exp = 0;
  let v = x;
  while (!Number.isInteger(v)) { v *= 2; exp--; }
  while (v % 2 === 0) { v /= 2; exp++; }
  if (v >= 2 ** 32) {
    throw new TabZeroError(`codebook midpoint ${x} needs ${Math.ceil(Math.log2(v))} significant bits; the quantize kernel handles 32 (codebook [${Array.from(codebook).join(', ')}])`, 'use a codebook whose neighbouring values are within a factor of 2^7 of each other, e.g. NF4 or a linear table');
  }
  return [v, exp];
}

export class QuantizeQ4Kernel {
  private constructor(private pipelines: Record<RawFloatDtype, GPUComputePipeline>) {}

  static async create(ctx: GpuContext): Promise<QuantizeQ4Kernel> {
    const make = (d: RawFloatDtype) => ctx.pipelines.get('quantize_q4', code, { WG: QUANTIZE_WG, DTYPE: DTYPE_CODE[d] });
    const [F32, BF16, F16] = await Promise.all([make('F32'), make('BF16'), make('F16')]);
    return new QuantizeQ4Kernel({ F32, BF16, F16 });
  }

  /**
   * src raw dtype [rows, K] (from the binding's start) → rows [dstRow, dstRow + rows) of the q4 part
   * `dst` (codes u32[N · K/8], scales u32[N · S/2]); `table` is codebookTable(codebook) on the GPU.
   */
  encode(rec: Recorder, src: Binding, dtype: RawFloatDtype, rows: number, K: number, dst: Q4Target, dstRow: number, table: Binding): void {
    checkQ4Shape(rows, K);
    if (!dst.scales) throw new TabZeroError('quantize_q4: the destination part has no scales buffer (not a q4 weight)', 'this is a bug in the caller: pass a part of a q4 weight');
    if (!Number.isInteger(dstRow) || dstRow < 0 || dstRow + rows > dst.rows) {
      throw new TabZeroError(`quantize_q4: rows [${dstRow}, ${dstRow + rows}) do not fit a destination part of ${dst.rows} rows`, 'this is a bug in the caller: split the write at the part boundary');
    }
    const needCodes = dst.rows * (K / 2);
    const needScales = dst.rows * scaleStride(K) * 2;
    if (dst.data.size < needCodes || dst.scales.size < needScales) {
      throw new TabZeroError(`quantize_q4: destination buffers hold ${dst.data.size} / ${dst.scales.size} bytes, ${dst.rows} rows of K=${K} need ${needCodes} / ${needScales}`, 'this is a bug in the caller: the part was allocated for another K');
    }
    const segs = ceilDiv(K / 8, QUANTIZE_WG);
    const u = params([['u32', rows], ['u32', K], ['u32', dstRow], ['u32', segs]]);
    rec.dispatch(this.pipelines[dtype], u, [src, dst.data, dst.scales, table], grid1d(rows * segs));
  }
}
