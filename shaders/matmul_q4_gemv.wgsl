// 4-bit matmul for few rows (decode, M = 1…16):  y[m, nOff + n] = Σ_k x[m, k] · W[n, k]  (+ bias[n])
// W is one q4 tensor (or a row range of one; see src/formats/q4.ts):
//   codes u32[N · K/8]: row n, word j = W[n, 8j..8j+7], element 8j+i in bits 4i..4i+3
//   scales f16[N · ceil(K/64)] two per u32 (low half first); codebook f32[16];  W[n,k] = cb[code] · scale
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2 codes · 3 scales · 4 codebook f32[16] · 5 bias f32[N]
//           · 6 y f32[M, ldy]
// Workgroup: 256 threads = ROWS output features × LANES threads; each lane walks every LANES-th
// word of its row and keeps MR accumulators; lanes are summed by halving in workgroup memory.
struct Params { M: u32, N: u32, K: u32, ldy: u32, nOff: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> codes: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read> codebook: array<f32, 16>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

override MR: u32 = 1;          // rows of x, 1…16
override HAS_BIAS: bool = false;
const ROWS = 8u;
const LANES = 32u;
const MAXM = 16u;

var<workgroup> lut: array<f32, 16>;
var<workgroup> red: array<f32, 2048>; // [ROWS][LANES/2][MAXM]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid < 16u) { lut[lid] = codebook[lid]; }
  workgroupBarrier();
  let r = lid / LANES;
  let lane = lid % LANES;
  let n = (wid.x + wid.y * nwg.x) * ROWS + r;
  let wpr = p.K / 8u;
  let bpr = (p.K + 63u) / 64u;
  let k4 = p.K / 4u;
  var acc: array<f32, MAXM>;
  if (n < p.N) {
    for (var j = lane; j < wpr; j += LANES) {
      let q = codes[n * wpr + j];
      let b = n * bpr + j / 8u;
      let s = unpack2x16float(scales[b >> 1u])[b & 1u];
      let w0 = vec4(lut[q & 15u], lut[(q >> 4u) & 15u], lut[(q >> 8u) & 15u], lut[(q >> 12u) & 15u]) * s;
      let w1 = vec4(lut[(q >> 16u) & 15u], lut[(q >> 20u) & 15u], lut[(q >> 24u) & 15u], lut[q >> 28u]) * s;
      for (var m = 0u; m < MR; m++) {
        let xi = m * k4 + 2u * j;
        acc[m] += dot(x[xi], w0) + dot(x[xi + 1u], w1);
      }
    }
  }
  // Sum the LANES partial sums of each row: halve 32 → 16 → … → 1 through workgroup memory.
  for (var h = LANES / 2u; h > 0u; h >>= 1u) {
    if (lane >= h && lane < 2u * h) {
      for (var m = 0u; m < MR; m++) { red[(r * (LANES / 2u) + lane - h) * MAXM + m] = acc[m]; }
    }
    workgroupBarrier();
    if (lane < h) {
      for (var m = 0u; m < MR; m++) { acc[m] += red[(r * (LANES / 2u) + lane) * MAXM + m]; }
    }
    workgroupBarrier();
  }
  if (lane == 0u && n < p.N) {
    var bn = 0.0;
    if (HAS_BIAS) { bn = bias[n]; }
    for (var m = 0u; m < MR; m++) { y[m * p.ldy + p.nOff + n] = acc[m] + bn; }
  }
}
