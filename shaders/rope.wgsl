// Rotary position embedding (rotate_half / NeoX layout, as HF Qwen2), in place on the q and k heads
// of a fused qkv buffer; v heads (after them) are not touched. For each rotated head and i < D/2:
//   x1 = x[i], x2 = x[i + D/2], (c, s) = table[pos[t], i]
//   x[i] = x1·c − x2·s,  x[i + D/2] = x2·c + x1·s
// The cos/sin table is built on the CPU in float32 exactly as HF does (src/kernels/rope.ts): WGSL's
// cos/sin are only accurate near [−π, π], and angles reach pos · 1 rad (tens of thousands).
// Bindings: 0 params {T, heads, D, ld, maxPos}
//           1 qkv f32[T, ld] (read_write; heads = H + K rotated heads of D from column 0)
//           2 pos i32[T]
//           3 table vec2<f32>[maxPos, D/2] (cos, sin)
// A position outside [0, maxPos) writes NaN into that token's rotated heads (loud, never a clamp).
// Workgroup: 256 threads, one thread per (t, head, i) pair, 2-D grid of workgroups past 65535.
struct Params { T: u32, heads: u32, D: u32, ld: u32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> qkv: array<f32>;
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
    qkv[a] = bitcast<f32>(nanBits);
    qkv[a + half] = bitcast<f32>(nanBits);
    return;
  }
  let cs = table[u32(ps) * half + i];
  let x1 = qkv[a];
  let x2 = qkv[a + half];
  qkv[a] = x1 * cs.x - x2 * cs.y;
  qkv[a + half] = x2 * cs.x + x1 * cs.y;
}
