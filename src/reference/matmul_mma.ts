// Naive CPU model of the subgroup-matrix matmul (shaders/matmul_mma_q4.wgsl): x rounded to f16 and
// the q4 weights decoded as the kernel does (f16(f16(codebook[code]) · scale): an f16 product), their
// products summed exactly (here in f64; the matrix units sum in f32), then the epilogue in f32 as
// matmulRef's: + y_in + bias + LoRA. A GPU result is checked against it tightly (bench-check --only
// mma) and against the exact product loosely.
import { dequantizeQ4, type Q4Host } from '../formats/q4';
import { roundF16 } from './gemv_f16';
import { matmulRef, type LoraRef } from './matmul';

/** the q4 weights [N, K] as the kernel decodes them: the codebook rounded to f16, times the f16 scale, rounded to f16 */
export function mmaWeightsQ4(q: Q4Host): Float32Array {
  return dequantizeQ4({ ...q, codebook: q.codebook.map(roundF16) }).map(roundF16);
}

/** x [M, K] f32, w16 [N, K] (mmaWeightsQ4) → y [M, N] as the subgroup-matrix matmul computes it */
export function matmulMmaRef(x: Float32Array, w16: Float32Array, M: number, N: number, K: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  return matmulRef(x.map(roundF16), w16, M, N, K, opts);
}
