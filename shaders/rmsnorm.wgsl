// RMSNorm over channels, in f32 (as Qwen2RMSNorm):  y[t, c] = x[t, c] · rsqrt(mean_c x[t, :]² + eps) · w[c]
// Bindings: 0 params {T, C, eps} · 1 x f32[T, C] · 2 w f32[C] · 3 y f32[T, C] (may alias nothing)
// Workgroup: WG threads (override) per row, one workgroup per row t; rows beyond 65535 wrap into y.
// Composed after a workgroup-sum snippet (wg_sum_{subgroup,shared}.wgsl) and a store_y(i, v) snippet
// (src/kernels/rmsnorm.ts: y[i] = v, or with shader-f16 also an f16 copy y16[i], binding 4).
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  let base = t * p.C;
  var ss = 0.0;
  if (t < p.T) {
    for (var c = lid; c < p.C; c += WG) {
      let v = x[base + c];
      ss += v * v;
    }
  }
  let total = wg_sum(ss, lid);
  if (t >= p.T) { return; }
  let inv = inverseSqrt(total / f32(p.C) + p.eps);
  for (var c = lid; c < p.C; c += WG) {
    store_y(base + c, x[base + c] * inv * w[c]);
  }
}
