// Workgroup sum with subgroups, for kernels of WG invocations (override WG, ≤ 64 subgroups: each ≥ 4
// wide where used): subgroupAdd, then each subgroup's sum through workgroup memory — one barrier
// where the halving tree of wg_sum_shared.wgsl takes log2(WG). Subgroups are taken to be runs of
// consecutive invocations (as on NVIDIA, AMD, Intel and SwiftShader; gemv_reduce_subgroup.wgsl takes
// the same). Prepended (its `enable` must come first).
enable subgroups;

var<workgroup> wsum: array<f32, 64>;

/** Σ v over the workgroup, returned to every invocation; call once per kernel, in uniform control flow */
fn wg_sum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  let n = subgroupAdd(1u); // every invocation is active here: the subgroup's width
  if (subgroupExclusiveAdd(1u) == 0u) { wsum[lid / n] = s; }
  workgroupBarrier();
  var t = 0.0;
  for (var i = 0u; i < WG / n; i++) { t += wsum[i]; }
  return t;
}
