// Row reduction for the GEMV kernels (gemv_common.wgsl) without subgroups: the LANES lanes of each of the ROWS rows
// are summed into lane 0 by halving through workgroup memory (log2(LANES) rounds, two barriers
// each). Prepended.
var<workgroup> red: array<f32, 2048>; // [ROWS][LANES / 2][MAXM 16]: ROWS · LANES = 256

fn reduce_rows(acc: ptr<function, array<f32, 16>>, r: u32, lane: u32) {
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
}
