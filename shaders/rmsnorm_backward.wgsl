// Backward of RMSNorm (shaders/rmsnorm.wgsl) w.r.t. x; the norm weight is frozen (no dw). Per row:
//   r = rsqrt(mean_c x² + eps),  dot = Σ_c dy[c] · w[c] · x[c]
//   dx[c] (+)= r · (w[c] · dy[c] − x[c] · r² · dot / C)
// ACCUMULATE (override): add into dx (the residual stream's gradient) instead of overwriting it.
// Bindings: 0 params {T, C, eps} · 1 x f32[T, C] · 2 w f32[C] · 3 dy f32[T, C] · 4 dx f32[T, C]
// Workgroup: WG threads (override) per row, one workgroup per row t (2-D grid past 65535 rows);
// both sums reduced together in workgroup memory.
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256;
override ACCUMULATE: bool = false;
var<workgroup> red: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  let base = t * p.C;
  var acc = vec2<f32>(0.0); // (Σ x², Σ dy·w·x)
  if (t < p.T) {
    for (var c = lid; c < p.C; c += WG) {
      let v = x[base + c];
      acc += vec2(v * v, dy[base + c] * w[c] * v);
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  if (t >= p.T) { return; }
  let r = inverseSqrt(red[0].x / f32(p.C) + p.eps);
  let k = r * r * red[0].y / f32(p.C);
  for (var c = lid; c < p.C; c += WG) {
    var g = r * (w[c] * dy[base + c] - x[base + c] * k);
    if (ACCUMULATE) { g += dx[base + c]; }
    dx[base + c] = g;
  }
}
