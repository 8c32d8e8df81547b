// Naive CPU matmul with the kernels' epilogue: dequantize W, then
//   y = [y_in +] x·Wᵀ + bias + scale · u_slice(n)·B[n]ᵀ   with f64 accumulation. Never optimised.
import { f16BitsToF32, scaleStride, type Q4Host } from '../formats/q4';
import { dequantizeWeight, type WeightHost } from '../formats/weights';

export interface LoraRef {
  /** u [M, ldu] = x·A_catᵀ */
  u: Float32Array;
  ldu: number;
  /** B [N, R] */
  B: Float32Array;
  R: number;
  scale: number;
  slice1?: number;
  slice2?: number;
}

/** x [M, K], W [N, K] (any format), bias [N], yIn [M, N] when accumulating → y [M, N] */
export function matmulWeightRef(x: Float32Array, w: WeightHost, M: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  return matmulRef(x, dequantizeWeight(w), M, w.N, w.K, opts);
}

/** x [M, K], W [N, K] f32 → y [M, N] */
export function matmulRef(x: Float32Array, w: Float32Array, M: number, N: number, K: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  const { bias, yIn, lora } = opts;
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = (yIn ? yIn[m * N + n] : 0) + (bias ? bias[n] : 0);
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s + loraTerm(lora, m, n, N);
    }
  }
  return y;
}

function loraTerm(lora: LoraRef | undefined, m: number, n: number, N: number): number {
  if (!lora) return 0;
  const slice = n >= (lora.slice2 ?? N) ? 2 : n >= (lora.slice1 ?? N) ? 1 : 0;
  let l = 0;
  for (let r = 0; r < lora.R; r++) l += lora.u[m * lora.ldu + slice * lora.R + r] * lora.B[n * lora.R + r];
  return lora.scale * l;
}

/** roundEven of WGSL's round(): halves to the even neighbour */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The int8 staged GEMV's arithmetic (gemv_body.ts BodyOpts.int8), x [M, K] and a q4 weight (K % 32 = 0)
 * → y [M, N] with the same epilogue: each block of 32 values of a row of x becomes round(x · 127 / a)
 * (a = the block's max |x|, in f32 as the kernel), each code round(127 · codebook[code]), and a block
 * adds its integer dot product · scale · a / 127².
 */
export function matmulInt8Ref(x: Float32Array, q: Q4Host, M: number, opts: { bias?: Float32Array; yIn?: Float32Array; lora?: LoraRef } = {}): Float32Array {
  const { N, K } = q;
  const f = Math.fround;
  const cb8 = Array.from(q.codebook, (c) => roundEven(f(c * 127)));
  const ss = scaleStride(K);
  const xq = new Int8Array(M * K);
  const xd = new Float32Array((M * K) / 32);
  for (let b = 0; b < (M * K) / 32; b++) {
    let a = 0;
    for (let k = 0; k < 32; k++) a = Math.max(a, Math.abs(x[32 * b + k]));
    const r = a > 0 ? f(127 / a) : 0;
    for (let k = 0; k < 32; k++) xq[32 * b + k] = roundEven(f(x[32 * b + k] * r));
    xd[b] = f(a / 16129);
  }
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = (opts.yIn ? opts.yIn[m * N + n] : 0) + (opts.bias ? opts.bias[n] : 0);
      for (let j = 0; j < K / 32; j++) {
        let d = 0;
        for (let k = 32 * j; k < 32 * j + 32; k++) d += xq[m * K + k] * cb8[(q.codes[(n * K + k) >>> 3] >>> (4 * (k & 7))) & 15];
        s += d * f16BitsToF32(q.scales[n * ss + (j >> 1)]) * xd[(m * K) / 32 + j];
      }
      y[m * N + n] = s + loraTerm(opts.lora, m, n, N);
    }
  }
  return y;
}

/** dy [M, N], W [N, K] (any format), dxIn [M, K] when accumulating → dx [M, K] = dxIn + dy·W */
export function matmulTransposedRef(dy: Float32Array, w: WeightHost, M: number, dxIn?: Float32Array): Float32Array {
  const W = dequantizeWeight(w);
  const { N, K } = w;
  const dx = new Float32Array(M * K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      let s = dxIn ? dxIn[m * K + k] : 0;
      for (let n = 0; n < N; n++) s += dy[m * N + n] * W[n * K + k];
      dx[m * K + k] = s;
    }
  }
  return dx;
}
