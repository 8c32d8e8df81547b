// Residency probe (bench --occupancy; src/cli/bench/occupancy.ts): how many workgroups of 256 threads an
// SM runs at once for a given amount of workgroup memory (and with a subgroup-matrix product in the kernel
// or not). Each workgroup fills SMEM_VEC4 vec4s of workgroup memory, then each thread chases ITERS
// dependent loads through `chase` (16 MiB: L2, not L1; a warp's 32 lanes read one 128-byte line a step, so
// the loads wait on latency, not on bandwidth or issue, and workgroups that share an SM do not slow each
// other), and thread 0 writes where it ended. Timed against the number of workgroups, the time steps up
// past every multiple of (workgroups an SM) × SMs. matrix_touch() comes from a snippet composed before
// this: a 16 × 16 × 16 subgroup-matrix product (with the f16 / subgroup-matrix enables) or nothing.
// Bindings: 0 unused (the recorder's params slot) · 1 out f32[workgroups] · 2 chase u32[N]: chase[i] = (i + STEP) mod N,
// STEP a whole number of 32-word lines, so a warp's lanes stay on one line (occupancy.ts: chaseTable, CHASE_STEP)
override SMEM_VEC4: u32 = 256;  // vec4<f32> of workgroup memory (16 bytes each)
override ITERS: u32 = 256;
var<workgroup> buf: array<vec4<f32>, SMEM_VEC4>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> chase: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var i = lid; i < SMEM_VEC4; i += 256u) { buf[i] = vec4(f32(i)); }
  workgroupBarrier();
  let n = arrayLength(&chase);
  // lane l of warp w starts at word l of line (wid·8 + w)·97: its warp's 32 lanes on one line
  var j = (((wid.x * 8u + lid / 32u) * 97u * 32u) % n) + lid % 32u + u32(matrix_touch(lid));
  for (var i = 0u; i < ITERS; i++) { j = chase[j]; }
  workgroupBarrier();
  if (lid == 0u) { buf[0].y = f32(j); }
  workgroupBarrier();
  if (lid == 0u) { out[wid.x] = buf[0].y + buf[SMEM_VEC4 - 1u].x; }
}
