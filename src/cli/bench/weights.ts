// Random q4 weights for benchmarks, made directly in the packed layout (values do not matter for
// speed; a CPU quantization of 13.8M weights would only slow the bench down).
import { scaleStride, NF4_CODEBOOK, f32ToF16Bits, type Q4Host } from '../../formats/q4';

export function quantizeQ4Fast(N: number, K: number, seed: number): Q4Host {
  let s = seed >>> 0 || 1;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const codes = new Uint32Array((N * K) / 8);
  for (let i = 0; i < codes.length; i++) codes[i] = next();
  const nb = N * scaleStride(K);
  const scales = new Uint16Array(nb);
  for (let i = 0; i < nb; i++) scales[i] = f32ToF16Bits(0.01 + (next() % 1000) / 1e5);
  return { N, K, codes, scales, codebook: Float32Array.from(NF4_CODEBOOK) };
}
