// Matmul for many rows (prefill, training) with the same fused epilogue as the GEMV (matmul_epilogue.wgsl):
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k] + bias[n] + loraScale · Σ_r u[m, slice(n)·R + r] · B[nOff+n, r]
// W through w8() of a prepended weight snippet (bindings 2–4); parameters, bindings and store()
// from matmul_epilogue.wgsl, composed before this.
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2–4 weights · 5 bias · 6 y f32[M, ldy] · 7 u · 8 B
// Workgroup: 16×16 threads compute a BM×64 tile of y, TM×4 each (BM = 16·TM: TM = 4 or 8 rows per
// thread; 8 halves the workgroup-memory loads per multiply-add); K is walked 16 at a time with
// x [BM m × 16 k] and W [64 n × 16 k] (dequantized) staged k-major in workgroup memory.
// Split-K (KCHUNK > 0; src/kernels/matmul.ts, for grids too small to fill the GPU): workgroup z sums
// k in [z·KCHUNK, (z+1)·KCHUNK) and writes its partial, bias on z = 0, plain to y as part[z, M, N];
// a second pass (matmul_f32.wgsl `reduce`) adds the parts into y. Grid [⌈N/64⌉, ⌈M/BM⌉, splits].
override KCHUNK: u32 = 0u;  // a multiple of BK; 0: all of K, through store()'s epilogue
override TM: u32 = 4;       // rows of y per thread: 4 or 8
override BM: u32 = 16u * TM;
const BN = 64u;
const BK = 16u;

var<workgroup> xs: array<vec4<f32>, BM * BK / 4u>; // [BK][BM/4]: 4 KiB at TM = 4, 8 KiB at TM = 8
var<workgroup> ws: array<vec4<f32>, 256>; // [BK][BN/4]

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let groups = p.K / 8u;
  let k4 = p.K / 4u;
  var acc: array<vec4<f32>, 8>; // [TM]
  let kb = wid.z * KCHUNK;
  let ke = select(p.K, min(p.K, kb + KCHUNK), KCHUNK > 0u);
  workgroupBarrier();
  for (var k0 = kb; k0 < ke; k0 += BK) {
    for (var r = 0u; r < TM / 4u; r++) { // BM·16 x values, a vec4 of one row per thread per pass
      let lm = r * 64u + lid / 4u;
      let kq = lid % 4u;
      var xv = vec4<f32>(0.0);
      if (m0 + lm < p.M && k0 + 4u * kq < p.K) { xv = x[(m0 + lm) * k4 + k0 / 4u + kq]; }
      for (var i = 0u; i < 4u; i++) { xs[(4u * kq + i) * (BM / 4u) + lm / 4u][lm % 4u] = xv[i]; }
    }
    if (lid < 128u) {
      let ln = lid / 2u;
      let jw = lid % 2u;
      let j = k0 / 8u + jw;
      var w = W8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n0 + ln < p.N && j < groups) { w = w8(n0 + ln, j, p.K); }
      for (var i = 0u; i < 4u; i++) {
        ws[(8u * jw + i) * (BN / 4u) + ln / 4u][ln % 4u] = w.a[i];
        ws[(8u * jw + 4u + i) * (BN / 4u) + ln / 4u][ln % 4u] = w.b[i];
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let b = ws[k * (BN / 4u) + tx];
      for (var q = 0u; q < TM / 4u; q++) {
        let a = xs[k * (BM / 4u) + ty * (TM / 4u) + q];
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
      let n = n0 + 4u * tx + jj;
      if (n >= p.N) { continue; }
      if (KCHUNK > 0u) {
        var v = acc[i][jj];
        if (HAS_BIAS && wid.z == 0u) { v += bias[n]; }
        y[(wid.z * p.M + m) * p.N + n] = v;
      } else {
        store(m, n, acc[i][jj]);
      }
    }
  }
}
