// Row reduction for matmul_gemv.wgsl without subgroups: the 32 lanes of each of the 8 rows are
// summed into lane 0 by halving through workgroup memory (5 rounds, 10 barriers). Prepended.
var<workgroup> red: array<f32, 2048>; // [ROWS 8][LANES/2 16][MAXM 16]

fn reduce_rows(acc: ptr<function, array<f32, 16>>, r: u32, lane: u32) {
  for (var h = 16u; h > 0u; h >>= 1u) {
    if (lane >= h && lane < 2u * h) {
      for (var m = 0u; m < MR; m++) { red[(r * 16u + lane - h) * 16u + m] = (*acc)[m]; }
    }
    workgroupBarrier();
    if (lane < h) {
      for (var m = 0u; m < MR; m++) { (*acc)[m] += red[(r * 16u + lane) * 16u + m]; }
    }
    workgroupBarrier();
  }
}
