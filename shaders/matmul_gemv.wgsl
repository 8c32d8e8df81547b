// Matmul for few rows (decode, M = 1…16) with a fused epilogue:
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k]  + bias[n]  + loraScale · Σ_r u[m, slice(n)·R + r] · B[nOff+n, r]
// W is read through w8() of a weight snippet prepended at build time (weights_{q4,bf16,i8}.wgsl;
// bindings 2–4). n is the row within this part of W (tensors over the binding limit come in parts).
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2–4 weights · 5 bias f32[N_part] · 6 y f32[M, ldy]
//           · 7 u f32[M, ldu] (LoRA A·x) · 8 B f32[N_total, R] (LoRA B, rows of all slices)
// Rows [mOff, mOff + MR) of x and y are this dispatch's (M > 16 takes several dispatches).
// Workgroup: 256 threads = ROWS lane groups × LANES lanes (LANES 32…256, ROWS = 256 / LANES; more
// lanes per row split a long K over more threads when N is small, e.g. down 8960 → 1536); lane group
// g owns NR consecutive output rows and each lane walks every LANES-th 8-weight group of them with
// NR·MR accumulators: the two
// x vec4 it loads per m serve NR rows (x is re-read from cache per row group, so NR > 1 cuts that
// traffic NR-fold at M = 8…16, for fewer workgroups). reduce_rows() (gemv_reduce_{subgroup,shared}
// .wgsl, prepended) sums the LANES lanes of each row into lane 0: subgroup shuffles and at most one
// barrier, or halving through workgroup memory when the device has no subgroups.
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


@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  workgroupBarrier();
  let r = lid / LANES;
  let lane = lid % LANES;
  let n0 = ((wid.x + wid.y * nwg.x) * ROWS + r) * NR;
  let rows = min(NR, select(0u, p.N - n0, n0 < p.N)); // rows of this lane group inside N
  let groups = p.K / 8u;
  let k4 = p.K / 4u;
  var acc: array<f32, 64>; // [MAXNR][MAXM]
  for (var j = lane; j < groups && rows > 0u; j += LANES) {
    var w: array<W8, MAXNR>;
    for (var i = 0u; i < rows; i++) { w[i] = w8(n0 + i, j, p.K); }
    for (var m = 0u; m < MR; m++) {
      let xi = (p.mOff + m) * k4 + 2u * j;
      let xa = x[xi];
      let xb = x[xi + 1u];
      for (var i = 0u; i < NR; i++) { acc[i * MAXM + m] += dot(xa, w[i].a) + dot(xb, w[i].b); }
    }
  }
  for (var i = 0u; i < NR; i++) {
    var part: array<f32, MAXM>;
    for (var m = 0u; m < MR; m++) { part[m] = acc[i * MAXM + m]; }
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
