// Shared part of the decode GEMV kernels (matmul_gemv.wgsl: 8 weights per lane step, any weight
// format; matmul_gemv_wide.wgsl: 32 q4 weights, one 16-byte load, per lane step): the layout
// constants and the row reduction + store. Composed after the weight reader and matmul_epilogue.wgsl
// (parameters, bindings, store()) and before the body.
// Workgroup: 256 threads = ROWS lane groups × LANES lanes; lane group g owns NR consecutive output
// rows; its LANES partial sums per row are added by reduce_rows() (gemv_reduce_{subgroup,shared}.wgsl).
override MR: u32 = 1;            // rows of x, 1…16
override NR: u32 = 1;            // output rows per lane group, 1…4
override LANES: u32 = 32;        // lanes per lane group: 32, 64, 128 or 256
override ROWS: u32 = 256u / LANES;
override MGRID: bool = false;    // one row of x per workgroup row: row p.mOff + workgroup_id.y (MR = 1; unrolled bodies: the dense LoRA u GEMVs)
const MAXNR = 4u;
const MAXM = 16u;

struct LaneGroup { r: u32, lane: u32, n0: u32, rows: u32, mb: u32 }

/** This thread's lane group r, its lane, the group's first output row n0, how many of its NR rows lie inside N, and its first row mb of the dispatch's rows of x (MGRID: workgroup_id.y). */
fn lane_group(wid: vec3u, nwg: vec3u, lid: u32) -> LaneGroup {
  let r = lid / LANES;
  let n0 = (select(wid.x + wid.y * nwg.x, wid.x, MGRID) * ROWS + r) * NR;
  return LaneGroup(r, lid % LANES, n0, min(NR, select(0u, p.N - n0, n0 < p.N)), select(0u, wid.y, MGRID));
}

/** Sums each of the lane group's NR rows over its LANES lanes; lane m < MR stores row m of x (in parallel: the bias/LoRA epilogue of each store is R multiply-adds). */
fn finish(acc: ptr<function, array<f32, 64>>, r: u32, lane: u32, n0: u32, rows: u32) {
  for (var i = 0u; i < NR; i++) {
    var part: array<f32, MAXM>;
    for (var m = 0u; m < MR; m++) { part[m] = (*acc)[i * MAXM + m]; }
    let v = reduce_rows(&part, r, lane);
    if (lane < MR && i < rows) { store(lane, n0 + i, v); }
  }
}
