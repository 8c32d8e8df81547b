// Naive CPU model of the subgroup-matrix matmul (shaders/matmul_mma.wgsl): x rounded to f16 and
// the weights decoded as the kernel does (q4: f16(f16(codebook[code]) · scale), an f16 product; bf16:
// f16(w)), their
// products summed exactly (here in f64; the matrix units sum in f32), then the epilogue in f32 as
// matmulRef's: + y_in + bias + LoRA (or the LoRA term from f16 inputs, as the kernel's LORA_MMA). A GPU result is checked against it tightly (bench-check --only
// mma) and against the exact product loosely.
import { dequantizeQ4, type Q4Host } from '../formats/q4';
import { dequantizeWeight, type WeightHost } from '../formats/weights';
import { roundF16 } from './gemv_f16';
import { matmulRef, type LoraRef } from './matmul';

/** the q4 weights [N, K] as the kernel decodes them: the codebook rounded to f16, times the f16 scale, rounded to f16 */
export function mmaWeightsQ4(q: Q4Host): Float32Array {
  return dequantizeQ4({ ...q, codebook: q.codebook.map(roundF16) }).map(roundF16);
}

/** a q4 or bf16 weight [N, K] as the kernel decodes it (mmaWeightsQ4; bf16 rounded to f16) */
export function mmaWeights(w: WeightHost): Float32Array {
  if (w.format === 'q4') return mmaWeightsQ4(w.q);
  if (w.format === 'bf16') return dequantizeWeight(w).map(roundF16);
  throw new Error(`mmaWeights: the subgroup-matrix matmul takes q4 or bf16 weights, got ${w.format}`);
}

/**
 * x [M, K] f32, w16 [N, K] (mmaWeights) → y [M, N] as the subgroup-matrix matmul computes it;
 * `loraF16`: its LoRA term on the matrix units (MatmulKernel.mmaLoraFor): u·scale and B rounded to f16
 */
export function matmulMmaRef(x: Float32Array, w16: Float32Array, M: number, N: number, K: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef; loraF16?: boolean } = {}): Float32Array {
  const { loraF16, ...rest } = opts;
  const l = rest.lora;
  const lora = l && loraF16 ? { ...l, u: l.u.map((v) => roundF16(v * l.scale)), B: l.B.map(roundF16), scale: 1 } : l;
  return matmulRef(x.map(roundF16), w16, M, N, K, { ...rest, lora });
}
