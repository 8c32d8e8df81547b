// Host-side conversions for 16-bit / 8-bit GPU weights: a tensor's raw F32/F16/BF16 bytes → bf16 bit
// patterns (BF16 bytes are used as they are), or → int8 with one f32 scale per row (packWeight's
// 'i8' rule), in row chunks so that a [V, C] embedding needs only a chunk of extra host memory.
import { packWeight } from '../formats/weights';
import { f16ToF32, toFloat32, type Dtype } from '../formats/safetensors';
import type { GpuContext } from '../gpu/device';
import type { Weight } from '../kernels/matmul';
import { writeBf16Rows, writeI8Rows } from './weight-writer';

export type FloatDtype = 'F32' | 'F16' | 'BF16';
export const FLOAT_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

const f = new Float32Array(1);
const u = new Uint32Array(f.buffer);

/** f32 bits → bf16 bits, round to nearest even, NaN kept (same bits as f32ToBf16Bits in formats/weights.ts) */
function bf16FromBits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** raw [n] of dtype → bf16 bits u16[n]; BF16 is a view of the same bytes when aligned */
export function toBf16Bits(dtype: FloatDtype, bytes: Uint8Array): Uint16Array {
  if (dtype === 'BF16') {
    return bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Uint16Array(bytes.slice().buffer);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / FLOAT_BYTES[dtype];
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'F32') u[0] = dv.getUint32(4 * i, true);
    else f[0] = f16ToF32(dv.getUint16(2 * i, true));
    out[i] = bf16FromBits(u[0]);
  }
  return out;
}

/** rows per host chunk: about 16 MiB of f32 */
export function chunkRows(K: number): number {
  return Math.max(1, Math.floor((16 << 20) / (4 * K)));
}

/**
 * Writes a whole [rows, K] float tensor (raw bytes) into rows [row0, row0 + rows) of a bf16 or i8
 * weight, chunk by chunk. Returns the bytes written to the GPU.
 */
export function writeFloatRows(ctx: GpuContext, w: Weight, row0: number, dtype: FloatDtype, bytes: Uint8Array): number {
  const K = w.K;
  const rows = bytes.byteLength / FLOAT_BYTES[dtype] / K;
  const rowB = K * FLOAT_BYTES[dtype];
  let written = 0;
  const step = w.format === 'bf16' && dtype === 'BF16' ? rows : chunkRows(K);
  for (let r = 0; r < rows; r += step) {
    const n = Math.min(step, rows - r);
    const raw = bytes.subarray(r * rowB, (r + n) * rowB);
    if (w.format === 'bf16') written += writeBf16Rows(ctx, w, row0 + r, toBf16Bits(dtype, raw));
    else if (w.format === 'i8') {
      const h = packWeight('i8', toFloat32(dtype as Dtype, raw), n, K);
      if (h.format === 'i8') written += writeI8Rows(ctx, w, row0 + r, h.q, h.scales);
    } else throw new Error(`writeFloatRows: ${w.format} weights are written by the quantize kernel`);
  }
  return written;
}

/** f32 rows [rows, K] → rows of a bf16 or i8 weight (bnb tensors dequantized on the host) */
export function writeF32Rows(ctx: GpuContext, w: Weight, row0: number, values: Float32Array): number {
  return writeFloatRows(ctx, w, row0, 'F32', new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}
