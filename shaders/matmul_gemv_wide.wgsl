// Matmul for few rows (decode, M = 1…16), q4 weights with K a multiple of 32: the GEMV of
// matmul_gemv.wgsl with each lane step loading 16 bytes of codes (32 weights, one vec4<u32>) and
// one scale instead of 4 bytes (8 weights): four times the bytes in flight per thread, which is what
// keeps the memory system busy at decode sizes. Composed as reduce snippet + weights_q4_wide.wgsl
// + matmul_epilogue.wgsl (parameters, bindings, store) + gemv_common.wgsl (layout, row reduction)
// + this.
// Lane group g owns NR consecutive output rows; each lane walks every LANES-th 32-weight group of
// them: per row, 4 code words decoded 8 weights at a time, each dotted with 2 x vec4 per m.

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  workgroupBarrier();
  let g = lane_group(wid, nwg, lid);
  let n0 = g.n0;
  let rows = g.rows;
  let groups = p.K / 32u;
  let k4 = p.K / 4u;
  var acc: array<f32, 64>; // [MAXNR][MAXM]
  for (var j = g.lane; j < groups && rows > 0u; j += LANES) {
    // loops over NR, 4 words and MR: constant trip counts, so acc indices are constants (registers)
    for (var i = 0u; i < NR; i++) {
      if (i < rows) {
        let q = w32(n0 + i, j, p.K);
        let s = w32_scale(n0 + i, j, p.K);
        for (var c = 0u; c < 4u; c++) {
          let w = w_word(q[c]);
          for (var m = 0u; m < MR; m++) {
            let xi = 8u * j + 2u * c;
            acc[i * MAXM + m] += (dot(xv(p.mOff + m, xi, k4), w.a) + dot(xv(p.mOff + m, xi + 1u, k4), w.b)) * s;
          }
        }
      }
    }
  }
  finish(&acc, g.r, g.lane, n0, rows);
}
