// 4-bit matmul for many rows (prefill, training):  y[m, nOff + n] = Σ_k x[m, k] · W[n, k]  (+ bias[n])
// W in the q4 layout (see matmul_q4_gemv.wgsl and src/formats/q4.ts).
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2 codes · 3 scales · 4 codebook f32[16] · 5 bias f32[N]
//           · 6 y f32[M, ldy]
// Workgroup: 16×16 threads compute a 64×64 tile of y, 4×4 per thread; K is walked 16 at a time:
// x [64 m × 16 k] and W dequantized [64 n × 16 k] are staged k-major in workgroup memory.
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read> codebook: array<f32, 16>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override HAS_BIAS: bool = false;
const BM = 64u;
const BN = 64u;
const BK = 16u;

var<workgroup> lut: array<f32, 16>;
var<workgroup> xs: array<vec4<f32>, 256>; // [BK][BM/4]
var<workgroup> ws: array<vec4<f32>, 256>; // [BK][BN/4]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid < 16u) { lut[lid] = codebook[lid]; }
  let tx = lid % 16u; // n quad
  let ty = lid / 16u; // m quad
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let wpr = p.K / 8u;
  let bpr = (p.K + 63u) / 64u;
  let k4 = p.K / 4u;
  var acc: array<vec4<f32>, 4>;
  workgroupBarrier();
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // x tile: thread → row lm = lid/4, k quad kq = lid%4
    let lm = lid / 4u;
    let kq = lid % 4u;
    var xv = vec4<f32>(0.0);
    if (m0 + lm < p.M && k0 + 4u * kq < p.K) { xv = x[(m0 + lm) * k4 + k0 / 4u + kq]; }
    for (var i = 0u; i < 4u; i++) { xs[(4u * kq + i) * (BM / 4u) + lm / 4u][lm % 4u] = xv[i]; }
    // W tile: threads 0..127 → row ln = lid/2, word half jw = lid%2 (8 weights each)
    if (lid < 128u) {
      let ln = lid / 2u;
      let jw = lid % 2u;
      let j = k0 / 8u + jw;
      var q = 0x77777777u; // code 7 = 0.0 in NF4; masked by s = 0 anyway
      var s = 0.0;
      if (n0 + ln < p.N && j < wpr) {
        let n = n0 + ln;
        q = codes[n * wpr + j];
        let b = n * bpr + j / 8u;
        s = unpack2x16float(scales[b >> 1u])[b & 1u];
      }
      for (var i = 0u; i < 8u; i++) {
        ws[(8u * jw + i) * (BN / 4u) + ln / 4u][ln % 4u] = lut[(q >> (4u * i)) & 15u] * s;
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a = xs[k * (BM / 4u) + ty];
      let b = ws[k * (BN / 4u) + tx];
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
      let n = n0 + 4u * tx + jj;
      if (n < p.N) {
        var bn = 0.0;
        if (HAS_BIAS) { bn = bias[n]; }
        y[m * p.ldy + p.nOff + n] = acc[i][jj] + bn;
      }
    }
  }
}
