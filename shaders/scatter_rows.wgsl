// Row scatter to positions computed from each row's live position, over f32 rows of C floats:
//   dst[(map[2r] + pos[r] · map[2r+1]) · C + c] = src[r · C + c]   for r in [0, R), c in [0, C).
// map holds (base, stride) per row; the destination row is computed in i32 (base may be negative)
// and a row < 0 (bad input) writes nothing. Rows of dst not addressed are left untouched.
// Bindings: 0 params {R, C, n = R·C}
//           1 src f32[R, C] · 2 pos i32[R] · 3 map i32[R, 2] (base, stride)
//           4 dst f32[D, C] (D covering every destination row)
// Workgroup: 256 threads, one src element (row, column) each, 2-D grid of workgroups past 65535.
struct Params { R: u32, C: u32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read> map: array<i32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (j >= p.n) { return; }
  let r = j / p.C;
  let c = j - r * p.C;
  let row = map[2u * r] + pos[r] * map[2u * r + 1u];
  if (row < 0) { return; }
  dst[u32(row) * p.C + c] = src[j];
}
