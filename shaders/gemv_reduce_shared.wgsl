// Row reduction for the GEMV kernels (gemv_common.wgsl) without subgroups: the LANES lanes of each of the ROWS rows
// are summed into lane 0 by halving through workgroup memory (log2(LANES) rounds, two barriers
// each), then lane m takes the sum for row m of x (so finish()'s MR stores run in parallel lanes).
// Prepended.
override RED_F32: u32 = 2048; // floats of red: 2048 where reduce_rows may use it, less where the caller knows (MatmulKernel.gemvRedFloats)
var<workgroup> red: array<f32, RED_F32>; // [ROWS][LANES / 2][MAXM 16]: ROWS · LANES = 256

/** Σ over the row's LANES lanes of acc[m] for m = lane: valid in lanes < MR (where finish() stores it). */
fn reduce_rows(acc: ptr<function, array<f32, 16>>, r: u32, lane: u32) -> f32 {
  let base = r * (LANES / 2u);
  for (var h = LANES / 2u; h > 0u; h >>= 1u) {
    if (lane >= h && lane < 2u * h) {
      for (var m = 0u; m < MR; m++) { red[(base + lane - h) * 16u + m] = (*acc)[m]; }
    }
    workgroupBarrier();
    if (lane < h) {
      for (var m = 0u; m < MR; m++) { (*acc)[m] += red[(base + lane) * 16u + m]; }
    }
    workgroupBarrier();
  }
  // lane 0 holds the MR sums: hand sum m to lane m
  if (lane == 0u) {
    for (var m = 0u; m < MR; m++) { red[base * 16u + m] = (*acc)[m]; }
  }
  workgroupBarrier();
  var mine = 0.0;
  if (lane < MR) { mine = red[base * 16u + lane]; }
  workgroupBarrier();
  return mine;
}
