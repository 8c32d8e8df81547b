// Shared part of the decode GEMV kernels (matmul_gemv.wgsl: 8 weights per lane step, any weight
// format; matmul_gemv_wide.wgsl: 32 q4 weights, one 16-byte load, per lane step): the parameters,
// bindings, layout constants and the epilogue. Composed after the weight reader and before the body:
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k]  + bias[n]  + loraScale · Σ_r u[m, slice(n)·R + r] · B[nOff+n, r]
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2–4 weights · 5 bias f32[N_part] · 6 y f32[M, ldy]
//           · 7 u f32[M, ldu] (LoRA A·x) · 8 B f32[N_total, R] (LoRA B, rows of all slices)
// Workgroup: 256 threads = ROWS lane groups × LANES lanes; lane group g owns NR consecutive output
// rows; its LANES partial sums per row are added by reduce_rows() (gemv_reduce_{subgroup,shared}.wgsl).
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32, ldu: u32, R: u32, slice1: u32, slice2: u32, loraScale: f32, mOff: u32 }
struct W8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read> loraU: array<f32>;
@group(0) @binding(8) var<storage, read> loraB: array<f32>;

override MR: u32 = 1;            // rows of x, 1…16
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false; // y += result (residual add)
override LORA: bool = false;
override NR: u32 = 1;            // output rows per lane group, 1…4
override LANES: u32 = 32;        // lanes per lane group: 32, 64, 128 or 256
override ROWS: u32 = 256u / LANES;
const MAXNR = 4u;
const MAXM = 16u;

/** Sums each of the lane group's NR rows over its LANES lanes and stores rows < `rows` (lane 0). */
fn finish(acc: ptr<function, array<f32, 64>>, r: u32, lane: u32, n0: u32, rows: u32) {
  for (var i = 0u; i < NR; i++) {
    var part: array<f32, MAXM>;
    for (var m = 0u; m < MR; m++) { part[m] = (*acc)[i * MAXM + m]; }
    reduce_rows(&part, r, lane);
    if (lane == 0u && i < rows) {
      for (var m = 0u; m < MR; m++) { store(m, n0 + i, part[m]); }
    }
  }
}

fn store(mLocal: u32, n: u32, v0: f32) {
  let m = p.mOff + mLocal;
  var v = v0;
  let ng = p.nOff + n;
  if (HAS_BIAS) { v += bias[n]; }
  if (LORA) {
    let s = select(select(0u, 1u, ng >= p.slice1), 2u, ng >= p.slice2);
    var l = 0.0;
    for (var j = 0u; j < p.R; j++) { l += loraU[m * p.ldu + s * p.R + j] * loraB[ng * p.R + j]; }
    v += p.loraScale * l;
  }
  let i = m * p.ldy + ng;
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
}
