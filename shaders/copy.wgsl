// Copy: dst[i] = src[i] over vec4<f32>, the bandwidth roofline every memory-bound kernel is compared to.
// Bindings: 0 params {n4} · 1 src vec4<f32>[n4] · 2 dst vec4<f32>[n4]
// Workgroup: 256 threads, each copies ITEMS vec4s strided by the whole grid (coalesced).
struct Params { n4: u32, stride: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override ITEMS: u32 = 4;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let first = gid.x + gid.y * nwg.x * 256u;
  for (var i = 0u; i < ITEMS; i++) {
    let j = first + i * p.stride;
    if (j < p.n4) { dst[j] = src[j]; }
  }
}
