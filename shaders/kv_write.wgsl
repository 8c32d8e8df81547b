// Writes the k and v heads of each token into the KV cache at (slot[t], pos[t]):
//   kc[slot[t], pos[t], g, d] = qkv[t, (H + g)·D + d];  vc[…] = qkv[t, (H + K + g)·D + d]
// Bindings: 0 params · 1 qkv f32[T, (H + 2K)·D] · 2 slot i32[T] · 3 pos i32[T] · 4 kc f32[B, L, K, D] · 5 vc (same)
// Workgroup: 256 threads over the K·D values of one token; one workgroup per token (2-D grid past 65535).
struct Params { T: u32, H: u32, K: u32, D: u32, L: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> slot: array<i32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read_write> kc: array<f32>;
@group(0) @binding(5) var<storage, read_write> vc: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; }
  let kd = p.K * p.D;
  let row = (p.H + 2u * p.K) * p.D;
  let dst = (u32(slot[t]) * p.L + u32(pos[t])) * kd;
  for (var i = lid; i < kd; i += 256u) {
    kc[dst + i] = qkv[t * row + p.H * p.D + i];
    vc[dst + i] = qkv[t * row + (p.H + p.K) * p.D + i];
  }
}
