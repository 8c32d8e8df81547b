// Naive CPU embedding gather (the reference of shaders/embed.wgsl). Never optimised.
import { dequantizeWeight, type WeightHost } from '../formats/weights';

/** ids i32[T] in [0, V), E [V, C] in bf16 or i8 → out f32[T, C];  out[t, :] = E[ids[t], :] */
export function embedRef(ids: Int32Array, e: WeightHost, T: number): Float32Array {
  const table = dequantizeWeight(e); // [V, C] f32, exactly what the kernel reads
  const C = e.K;
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    const id = ids[t];
    if (id < 0 || id >= e.N) throw new Error(`embedRef: ids[${t}] = ${id} is outside [0, ${e.N})`);
    for (let c = 0; c < C; c++) out[t * C + c] = table[id * C + c];
  }
  return out;
}
