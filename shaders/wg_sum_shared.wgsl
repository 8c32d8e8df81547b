// Workgroup sum through workgroup memory, for kernels of WG invocations (override WG, a power of
// two): a halving tree, log2(WG) barriers. Devices without subgroups take it (wg_sum_subgroup.wgsl).
var<workgroup> wsum: array<f32, WG>;

/** Σ v over the workgroup, returned to every invocation; call once per kernel, in uniform control flow */
fn wg_sum(v: f32, lid: u32) -> f32 {
  wsum[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { wsum[lid] += wsum[lid + s]; }
    workgroupBarrier();
  }
  return wsum[0];
}
