// Row reduction for matmul_gemv.wgsl with subgroups: a butterfly of subgroupShuffleXor within each
// subgroup (rows are 32 lanes aligned to 32, so offsets < 32 never cross rows), then — only when
// subgroups are narrower than 32 lanes — one barrier to add the subgroups' partial sums. Prepended
// (its `enable` must come first). Needs subgroups of at least 2 lanes.
enable subgroups;

var<workgroup> red: array<f32, 2048>; // [ROWS 8][32 / sg ≤ 16][MAXM 16]
var<workgroup> sgWidth: u32;

fn reduce_rows(acc: ptr<function, array<f32, 16>>, r: u32, lane: u32) {
  let sgLocal = subgroupAdd(1u); // every invocation is active here: the subgroup's size
  if (r == 0u && lane == 0u) { sgWidth = sgLocal; }
  let sg = workgroupUniformLoad(&sgWidth); // uniform across the workgroup, so it may guard a barrier
  let span = min(sg, 32u);
  for (var m = 0u; m < MR; m++) {
    var v = (*acc)[m];
    for (var off = 1u; off < span; off <<= 1u) { v += subgroupShuffleXor(v, off); }
    (*acc)[m] = v;
  }
  if (sg < 32u) {
    let parts = 32u / sg;
    if (lane % sg == 0u) {
      for (var m = 0u; m < MR; m++) { red[(r * 16u + lane / sg) * 16u + m] = (*acc)[m]; }
    }
    workgroupBarrier();
    if (lane == 0u) {
      for (var m = 0u; m < MR; m++) {
        var s = 0.0;
        for (var i = 0u; i < parts; i++) { s += red[(r * 16u + i) * 16u + m]; }
        (*acc)[m] = s;
      }
    }
  }
}
