// Transposed matmul through a frozen weight (the backward of y = x·Wᵀ):
//   dx[m, k] (+)= Σ_n dy[m, nOff + n] · W[n, k]      for W [N, K] of this part (rows nOff .. nOff+N)
// W through w8() of a prepended weight snippet (weights_{q4,bf16,i8}.wgsl, bindings 2–4).
// Bindings: 0 params · 1 dy vec4<f32>[M, ldy/4] · 2–4 weights · 5 dx f32[M, K]
// Workgroup: 16×16 threads compute a BM (m) × 64 (k) tile of dx, TM×4 each (BM = 16·TM, TM = 4 or
// 8, as matmul_tiled.wgsl); n is walked 16 at a time: dy [BM m × 16 n] and W [16 n × 64 k]
// (dequantized) staged in workgroup memory. Parts of a
// split weight accumulate into dx one after another (ACCUMULATE on all but the first).
// Split-K (NCHUNK > 0; src/kernels/matmul.ts, for grids too small to fill the GPU): workgroup z sums
// n in [z·NCHUNK, (z+1)·NCHUNK) and writes its partial plain to dx as part[z, M, K]; a second pass
// (matmul_f32.wgsl `reduce`) adds the parts into dx. Grid [⌈K/64⌉, ⌈M/BM⌉, splits].
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32 }
struct W8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

override ACCUMULATE: bool = false;
override NCHUNK: u32 = 0u; // a multiple of BN; 0: all of N
override TM: u32 = 4;       // rows of dx per thread: 4 or 8
override BM: u32 = 16u * TM;
const BK = 64u;
const BN = 16u;

var<workgroup> ys: array<vec4<f32>, BM * BN / 4u>; // [BN][BM/4]: 4 KiB at TM = 4, 8 KiB at TM = 8
var<workgroup> ws: array<vec4<f32>, 256>; // [BN][BK/4]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  let tx = lid % 16u; // k quad
  let ty = lid / 16u; // m quad
  let m0 = wid.y * BM;
  let k0 = wid.x * BK;
  var acc: array<vec4<f32>, 8>; // [TM]
  let nb = wid.z * NCHUNK;
  let ne = select(p.N, min(p.N, nb + NCHUNK), NCHUNK > 0u);
  workgroupBarrier();
  for (var n0 = nb; n0 < ne; n0 += BN) {
    // dy tile: BM m × 16 n, 4 values per thread per pass: thread → m = r·64 + lid/4, n quad = lid%4
    for (var r = 0u; r < TM / 4u; r++) {
      let lm = r * 64u + lid / 4u;
      let nq = lid % 4u;
      for (var i = 0u; i < 4u; i++) {
        let n = n0 + 4u * nq + i;
        var v = 0.0;
        if (m0 + lm < p.M && n < p.N) { v = dy[(m0 + lm) * p.ldy + p.nOff + n]; }
        ys[(4u * nq + i) * (BM / 4u) + lm / 4u][lm % 4u] = v;
      }
    }
    // W tile: 16 n × 64 k = 16 × 8 groups of 8 → threads 0..127 load one group each
    if (lid < 128u) {
      let ln = lid / 8u;
      let g = lid % 8u;
      let j = k0 / 8u + g;
      var w = W8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n0 + ln < p.N && j < p.K / 8u) { w = w8(n0 + ln, j, p.K); }
      ws[ln * (BK / 4u) + 2u * g] = w.a;
      ws[ln * (BK / 4u) + 2u * g + 1u] = w.b;
    }
    workgroupBarrier();
    for (var n = 0u; n < BN; n++) {
      let b = ws[n * (BK / 4u) + tx];
      for (var q = 0u; q < TM / 4u; q++) {
        let a = ys[n * (BM / 4u) + ty * (TM / 4u) + q];
        acc[4u * q] += a[0] * b;
        acc[4u * q + 1u] += a[1] * b;
        acc[4u * q + 2u] += a[2] * b;
        acc[4u * q + 3u] += a[3] * b;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + TM * ty + i;
    if (m >= p.M) { break; }
    for (var jj = 0u; jj < 4u; jj++) {
      let k = k0 + 4u * tx + jj;
      if (k < p.K && NCHUNK > 0u) {
        dx[(wid.z * p.M + m) * p.K + k] = acc[i][jj];
      } else if (k < p.K) {
        let idx = m * p.K + k;
        var v = acc[i][jj];
        if (ACCUMULATE) { v += dx[idx]; }
        dx[idx] = v;
      }
    }
  }
}
