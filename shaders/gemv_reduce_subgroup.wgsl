// Row reduction for the GEMV kernels (gemv_common.wgsl) with subgroups: a butterfly of subgroupShuffleXor within each
// subgroup (rows are LANES lanes aligned to LANES, so offsets < min(subgroup, LANES) never cross
// rows), then — only when a row spans several subgroups — one barrier to add the subgroups'
// partial sums. Lane m of the row returns the sum for row m of x, so the MR stores (and their
// bias/LoRA epilogues) run in parallel lanes. Prepended (its `enable` must come first). Needs subgroups of at least 2 lanes.
enable subgroups;

override RED_F32: u32 = 2048; // floats of red: 2048 where reduce_rows may use it, less where the caller knows (MatmulKernel.gemvRedFloats)
var<workgroup> red: array<f32, RED_F32>; // [ROWS][LANES / sg ≤ LANES / 2][MAXM 16]: ROWS · LANES = 256
var<workgroup> sgWidth: u32;

/** Σ over the row's LANES lanes of acc[m] for m = lane: valid in lanes < MR (where finish() stores it). */
fn reduce_rows(acc: ptr<function, array<f32, 16>>, r: u32, lane: u32) -> f32 {
  let sgLocal = subgroupAdd(1u); // every invocation is active here: the subgroup's size
  if (r == 0u && lane == 0u) { sgWidth = sgLocal; }
  let sg = workgroupUniformLoad(&sgWidth); // uniform across the workgroup, so it may guard a barrier
  let span = min(sg, LANES);
  var mine = 0.0;
  for (var m = 0u; m < MR; m++) {
    var v = (*acc)[m];
    for (var off = 1u; off < span; off <<= 1u) { v += subgroupShuffleXor(v, off); }
    (*acc)[m] = v;
    mine = select(mine, v, lane == m); // the whole row is one subgroup: every lane holds every sum
  }
  if (sg < LANES) {
    let parts = LANES / sg;
    let base = r * (LANES / 2u);
    if (lane % sg == 0u) {
      for (var m = 0u; m < MR; m++) { red[(base + lane / sg) * 16u + m] = (*acc)[m]; }
    }
    workgroupBarrier();
    if (lane < MR) {
      var s = 0.0;
      for (var i = 0u; i < parts; i++) { s += red[(base + i) * 16u + lane]; }
      mine = s;
    }
    workgroupBarrier(); // the next call (next of NR rows) writes red again
  }
  return mine;
}
