// Backward of rotary position embedding (the forward is shaders/rope_kv.wgsl): the transpose rotation (angle −θ), in
// place on the dq and dk heads of a fused d-qkv buffer; dv heads are not touched. For i < D/2:
//   g1 = dx[i], g2 = dx[i + D/2], (c, s) = table[pos[t], i]
//   dx[i] = g1·c + g2·s,  dx[i + D/2] = g2·c − g1·s
// Bindings: 0 params {T, heads, D, ld, maxPos}
//           1 dqkv f32[T, ld] (read_write; heads = H + K rotated heads of D from column 0)
//           2 pos i32[T]
//           3 table vec2<f32>[maxPos, D/2] (cos, sin), the same table as the forward
// A position outside [0, maxPos) writes NaN into that token's rotated heads (loud, never a clamp).
// Workgroup: 256 threads, one thread per (t, head, i) pair, 2-D grid of workgroups past 65535.
struct Params { T: u32, heads: u32, D: u32, ld: u32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * 256u + lid;
  let half = p.D / 2u;
  let perToken = p.heads * half;
  let t = g / perToken;
  if (t >= p.T) { return; }
  let r = g - t * perToken;
  let h = r / half;
  let i = r - h * half;
  let a = t * p.ld + h * p.D + i;
  let ps = pos[t];
  if (ps < 0 || u32(ps) >= p.maxPos) {
    var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
    dqkv[a] = bitcast<f32>(nanBits);
    dqkv[a + half] = bitcast<f32>(nanBits);
    return;
  }
  let cs = table[u32(ps) * half + i];
  let g1 = dqkv[a];
  let g2 = dqkv[a + half];
  dqkv[a] = g1 * cs.x + g2 * cs.y;
  dqkv[a + half] = g2 * cs.x - g1 * cs.y;
}
