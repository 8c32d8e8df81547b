// Transposed matmul through a frozen weight (the backward of y = x·Wᵀ):
//   dx[m, k] (+)= Σ_n dy[m, nOff + n] · W[n, k]      for W [N, K] of this part (rows nOff .. nOff+N)
// W through w8() of a prepended weight snippet (weights_{q4,bf16,i8}.wgsl, bindings 2–4).
// Bindings: 0 params · 1 dy vec4<f32>[M, ldy/4] · 2–4 weights · 5 dx f32[M, K]
// Workgroup: 16×16 threads compute a 64 (m) × 64 (k) tile of dx, 4×4 each; n is walked 16 at a
// time: dy [64 m × 16 n] and W [16 n × 64 k] (dequantized) staged in workgroup memory. Parts of a
// split weight accumulate into dx one after another (ACCUMULATE on all but the first).
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32 }
struct W8 { a: vec4<f32>, b: vec4<f32> }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

override ACCUMULATE: bool = false;
const BM = 64u;
const BK = 64u;
const BN = 16u;

var<workgroup> ys: array<vec4<f32>, 256>; // [BN][BM/4]
var<workgroup> ws: array<vec4<f32>, 256>; // [BN][BK/4]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  let tx = lid % 16u; // k quad
  let ty = lid / 16u; // m quad
  let m0 = wid.y * BM;
  let k0 = wid.x * BK;
  var acc: array<vec4<f32>, 4>;
  workgroupBarrier();
  for (var n0 = 0u; n0 < p.N; n0 += BN) {
    // dy tile: 64 m × 16 n = 1024 values, 4 per thread: thread → m = lid/4, n quad = lid%4
    let lm = lid / 4u;
    let nq = lid % 4u;
    for (var i = 0u; i < 4u; i++) {
      let n = n0 + 4u * nq + i;
      var v = 0.0;
      if (m0 + lm < p.M && n < p.N) { v = dy[(m0 + lm) * p.ldy + p.nOff + n]; }
      ys[(4u * nq + i) * (BM / 4u) + lm / 4u][lm % 4u] = v;
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
      let a = ys[n * (BM / 4u) + ty];
      let b = ws[n * (BK / 4u) + tx];
      acc[0] += a[0] * b;
      acc[1] += a[1] * b;
      acc[2] += a[2] * b;
      acc[3] += a[3] * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * ty + i;
    if (m >= p.M) { break; }
    for (var jj = 0u; jj < 4u; jj++) {
      let k = k0 + 4u * tx + jj;
      if (k < p.K) {
        let idx = m * p.K + k;
        var v = acc[i][jj];
        if (ACCUMULATE) { v += dx[idx]; }
        dx[idx] = v;
      }
    }
  }
}
