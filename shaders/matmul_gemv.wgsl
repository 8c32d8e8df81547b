// Matmul for few rows (decode, M = 1…16), any weight format: body of the GEMV, composed as
// reduce snippet + weight snippet + matmul_epilogue.wgsl (parameters, bindings, store) +
// gemv_common.wgsl (layout, row reduction) + this.
// W is read through w8() of the weight snippet (weights_{q4,bf16,i8,f32}.wgsl; bindings 2–4).
// n is the row within this part of W (tensors over the binding limit come in parts).
// Rows [mOff, mOff + MR) of x and y are this dispatch's (M > 16 takes several dispatches).
// Workgroup: 256 threads = ROWS lane groups × LANES lanes (LANES 32…256, ROWS = 256 / LANES; more
// lanes per row split a long K over more threads when N is small, e.g. down 8960 → 1536); lane group
// g owns NR consecutive output rows and each lane walks every LANES-th 8-weight group of them with
// NR·MR accumulators: the two x vec4 it loads per m serve NR rows (x is re-read from cache per row
// group, so NR > 1 cuts that traffic NR-fold at M = 8…16, for fewer workgroups). finish() sums the
// LANES lanes of each row (subgroup shuffles and at most one barrier, or halving through workgroup
// memory when the device has no subgroups) and stores it.

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  w_init(lid);
  workgroupBarrier();
  let g = lane_group(wid, nwg, lid);
  let n0 = g.n0;
  let rows = g.rows;
  let groups = p.K / 8u;
  let k4 = p.K / 4u;
  var acc: array<f32, 64>; // [MAXNR][MAXM]
  for (var j = g.lane; j < groups && rows > 0u; j += LANES) {
    var w: array<W8, MAXNR>; // loops over NR and MR have constant trip counts: w and acc stay in registers
    for (var i = 0u; i < NR; i++) { if (i < rows) { w[i] = w8(n0 + i, j, p.K); } }
    for (var m = 0u; m < MR; m++) {
      let xa = xv(p.mOff + m, 2u * j, k4);
      let xb = xv(p.mOff + m, 2u * j + 1u, k4);
      for (var i = 0u; i < NR; i++) { acc[i * MAXM + m] += dot(xa, w[i].a) + dot(xb, w[i].b); }
    }
  }
  finish(&acc, g.r, g.lane, n0, rows);
}
