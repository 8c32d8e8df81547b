// Residency probe (bench --occupancy; src/cli/bench/occupancy.ts): how many workgroups of 256 threads an
// SM runs at once for a given amount of workgroup memory (and with a subgroup-matrix product in the kernel
// or not). Each workgroup fills SMEM_VEC4 vec4s of workgroup memory, then each thread runs a dependent
// chain of ITERS multiply-adds — latency-bound, so workgroups that share an SM do not slow each other —
// and writes one value a workgroup. Timed against the number of workgroups, the time steps up past every
// multiple of (workgroups an SM) × SMs. matrix_touch() comes from a snippet composed before this: a
// 16 × 16 × 16 subgroup-matrix product (with the f16 / subgroup-matrix enables) or nothing.
override SMEM_VEC4: u32 = 256;  // vec4<f32> of workgroup memory (16 bytes each)
override ITERS: u32 = 4096;
var<workgroup> buf: array<vec4<f32>, SMEM_VEC4>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // (binding 0: the recorder's params slot, unused)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var i = lid; i < SMEM_VEC4; i += 256u) { buf[i] = vec4(f32(i)); }
  workgroupBarrier();
  var v = buf[lid % SMEM_VEC4].x * 1e-3 + f32(wid.x) * 1e-6 + matrix_touch(lid);
  for (var i = 0u; i < ITERS; i++) { v = fma(v, 0.999, 0.001); }
  workgroupBarrier();
  if (lid == 0u) { buf[0].y = v; }
  workgroupBarrier();
  if (lid == 0u) { out[wid.x] = buf[0].y + buf[SMEM_VEC4 - 1u].x; }
}
