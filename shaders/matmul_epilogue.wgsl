// The matmul kernels' shared parameters, x/y/bias/LoRA bindings and fused epilogue (the decode
// GEMVs through gemv_common.wgsl, and matmul_tiled.wgsl), composed after the weight reader:
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k]  + bias[n]  + loraScale · Σ_r u[m, slice(n)·R + r] · B[nOff+n, r]
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2–4 weights · 5 bias f32[N_part] · 6 y f32[M, ldy]
//           · 7 u f32[M, ldu] (LoRA A·x) · 8 B f32[N_total, R] (LoRA B, rows of all slices)
//           · 9 RMSNorm weight f32[K] (GEMVs that norm x themselves; eps in Params)
// Rows [mOff, mOff + M) of x and y are this dispatch's; n is the row within this part of W.
// GEMVs read x through xv() (X_SWIGLU: the SwiGLU of a gate|up pair, so decode skips its kernel).
// store_y() ends in save_row() of a snippet composed after this: a no-op, or matmul_save_row.wgsl
// (a decode GEMV's stored rows copied to the training layout: bindings 10–12).
// sqOff: float offset of the tile sums of squares in x's buffer (the subgroup-matrix matmul's SQ_IN) or y's (SQ_OUT)
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32, ldu: u32, R: u32, slice1: u32, slice2: u32, loraScale: f32, mOff: u32, eps: f32, sqOff: u32 }
struct W8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read> loraU: array<f32>;
@group(0) @binding(8) var<storage, read> loraB: array<f32>;
@group(0) @binding(9) var<storage, read> normw: array<vec4<f32>>; // RMSNorm weight [K/4] of a GEMV that norms its x (src/kernels/gemv_body.ts)

override HAS_BIAS: bool = false;
override X_SWIGLU: bool = false; // GEMVs only: x is a gate|up pair [M, 2K] and they read silu(gate)·up (the SwiGLU, fused)
override ACCUMULATE: bool = false; // y += result (residual add)
override LORA: bool = false;
override LORA_R: u32 = 0u; // the LoRA rank when fixed at pipeline creation (the loop unrolls, its loads go out together); 0: p.R

/** the LoRA slice (0, 1 or 2: q, k, v of a fused q|k|v weight) of global output row ng */
fn lora_slice(ng: u32) -> u32 {
  return select(select(0u, 1u, ng >= p.slice1), 2u, ng >= p.slice2);
}

/** y[mOff + mLocal, nOff + n] (+)= v0 + bias + LoRA */
fn store(mLocal: u32, n: u32, v0: f32) {
  var v = v0;
  if (LORA) { v += lora_term(mLocal, n); }
  store_y(mLocal, n, v);
}

/** loraScale · u[mOff + mLocal, slice(nOff + n)·R …] · B[nOff + n]ᵀ: the LoRA term of one output */
fn lora_term(mLocal: u32, n: u32) -> f32 {
  let m = p.mOff + mLocal;
  let ng = p.nOff + n;
  var l = 0.0;
  let u0 = m * p.ldu + lora_slice(ng) * p.R;
  let b0 = ng * p.R;
  if (LORA_R > 0u) {
    for (var j = 0u; j < LORA_R; j++) { l += loraU[u0 + j] * loraB[b0 + j]; }
  } else {
    for (var j = 0u; j < p.R; j++) { l += loraU[u0 + j] * loraB[b0 + j]; }
  }
  return p.loraScale * l;
}

/** y[mOff + mLocal, nOff + n] (+)= v0 + bias: store() without the LoRA term (GEMV bodies that sum it themselves: gemv_body.ts loraFold) */
fn store_y(mLocal: u32, n: u32, v0: f32) {
  var v = v0;
  if (HAS_BIAS) { v += bias[n]; }
  let i = (p.mOff + mLocal) * p.ldy + p.nOff + n;
  if (ACCUMULATE) { v += y[i]; }
  y[i] = v;
  save_row(mLocal, n, v);
}

/** h[mOff + mLocal, j] = silu(g)·u (as swiglu.wgsl) from unit j's gate and up sums (+ bias rows j and j + half): a GEMV of a gate|up weight [2·half, K] that stores the SwiGLU itself (MatmulOptions.ySwiglu; no LoRA epilogue: its lanes sum the LoRA term) */
fn store_swiglu(mLocal: u32, j: u32, half: u32, g0: f32, u0: f32) {
  var g = g0;
  var u = u0;
  if (HAS_BIAS) { g += bias[j]; u += bias[j + half]; }
  let e = exp(-abs(g));
  let sg = select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
  y[(p.mOff + mLocal) * p.ldy + p.nOff + j] = g * sg * u;
}

fn xsigmoid(g: vec4<f32>) -> vec4<f32> {
  let e = exp(-abs(g)); // as swiglu.wgsl: exp of a non-positive argument only
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= vec4(0.0));
}

/** vec4 i of row m of x (k4 = K/4 vec4 per row); with X_SWIGLU, of h = silu(gate)·up from the pair row */
fn xv(m: u32, i: u32, k4: u32) -> vec4<f32> {
  if (X_SWIGLU) {
    let g = x[m * 2u * k4 + i];
    return g * xsigmoid(g) * x[m * 2u * k4 + k4 + i];
  }
  return x[m * k4 + i];
}
