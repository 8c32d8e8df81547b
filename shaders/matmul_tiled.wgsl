// Matmul for many rows (prefill, training) with the same fused epilogue as the GEMV (matmul_epilogue.wgsl):
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k] + bias[n] + loraScale · Σ_r u[m, slice(n)·R + r] · B[nOff+n, r]
// W through w8() of a prepended weight snippet (bindings 2–4); parameters, bindings and store()
// from matmul_epilogue.wgsl, composed before this.
// Bindings: 0 params · 1 x vec4<f32>[M, K/4] · 2–4 weights · 5 bias · 6 y f32[M, ldy] · 7 u · 8 B
// Workgroup: 16×16 threads compute a BM×BN tile of y, TM×TN each (BM = 16·TM, BN = 16·TN: TM and TN
// 4 or 8 per thread; 8 halves the workgroup-memory loads per multiply-add on that side). K is walked
// BK at a time with x [BM m × BK k] and W [BN n × BK k] (dequantized) staged k-major in workgroup
// memory (BK = 16, or 8 for 128×128 tiles so both stay within 16 KiB). With TN = 8 a thread's two
// vec4 columns lie 64 apart, so neighbouring threads read neighbouring vec4s of W.
override TM: u32 = 4;       // rows of y per thread: 4 or 8
override TN: u32 = 4;       // columns of y per thread: 4 or 8
override BK: u32 = 16u;     // k per stage: 16, or 8 (TM = TN = 8)
override BM: u32 = 16u * TM;
override BN: u32 = 16u * TN;
override KQ: u32 = BK / 4u; // x vec4 per tile row per stage
override JW: u32 = BK / 8u; // W 8-weight groups per tile row per stage

var<workgroup> xs: array<vec4<f32>, BM * BK / 4u>; // [BK][BM/4]: 4 KiB at TM = 4, 8 KiB at TM = 8 (BK = 16)
var<workgroup> ws: array<vec4<f32>, BN * BK / 4u>; // [BK][BN/4]: 4 KiB at TN = 4, 8 KiB at TN = 8 (BK = 16)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  let tx = lid % 16u;
  let ty = lid / 16u;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let groups = p.K / 8u;
  let k4 = p.K / 4u;
  var acc: array<vec4<f32>, 16>; // [TM][TN/4]
  workgroupBarrier();
  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    for (var r = 0u; r < BM * KQ / 256u; r++) { // BM·BK x values, a vec4 of one row per thread per pass
      let i = r * 256u + lid;
      let lm = i / KQ;
      let kq = i % KQ;
      var xv = vec4<f32>(0.0);
      if (m0 + lm < p.M && k0 + 4u * kq < p.K) { xv = x[(m0 + lm) * k4 + k0 / 4u + kq]; }
      for (var e = 0u; e < 4u; e++) { xs[(4u * kq + e) * (BM / 4u) + lm / 4u][lm % 4u] = xv[e]; }
    }
    if (lid < BN * JW) { // BN·BK weights, 8 per thread
      let ln = lid / JW;
      let jw = lid % JW;
      let j = k0 / 8u + jw;
      var w = W8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n0 + ln < p.N && j < groups) { w = w8(n0 + ln, j, p.K); }
      for (var e = 0u; e < 4u; e++) {
        ws[(8u * jw + e) * (BN / 4u) + ln / 4u][ln % 4u] = w.a[e];
        ws[(8u * jw + 4u + e) * (BN / 4u) + ln / 4u][ln % 4u] = w.b[e];
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var av: array<vec4<f32>, 2>; // [TM/4] rows TM·ty …
      var bv: array<vec4<f32>, 2>; // [TN/4] columns 4·tx + 64·c …
      for (var q = 0u; q < TM / 4u; q++) { av[q] = xs[k * (BM / 4u) + ty * (TM / 4u) + q]; }
      for (var c = 0u; c < TN / 4u; c++) { bv[c] = ws[k * (BN / 4u) + c * 16u + tx]; }
      for (var q = 0u; q < TM / 4u; q++) {
        for (var c = 0u; c < TN / 4u; c++) {
          acc[(4u * q) * (TN / 4u) + c] += av[q][0] * bv[c];
          acc[(4u * q + 1u) * (TN / 4u) + c] += av[q][1] * bv[c];
          acc[(4u * q + 2u) * (TN / 4u) + c] += av[q][2] * bv[c];
          acc[(4u * q + 3u) * (TN / 4u) + c] += av[q][3] * bv[c];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = m0 + TM * ty + i;
    if (m >= p.M) { break; }
    for (var c = 0u; c < TN / 4u; c++) {
      for (var jj = 0u; jj < 4u; jj++) {
        let n = n0 + c * 64u + 4u * tx + jj;
        if (n < p.N) { store(m, n, acc[i * (TN / 4u) + c][jj]); }
      }
    }
  }
}
