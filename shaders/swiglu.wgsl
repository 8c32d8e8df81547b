// SwiGLU of the fused gate|up projection (Qwen2 MLP): h[t, i] = silu(g) · u,  silu(g) = g · σ(g),
// with g = gu[t, i] (gate, columns [0, I)) and u = gu[t, I + i] (up, columns [I, 2I)).
// σ is evaluated without overflow: exp of a non-positive argument only.
// Bindings: 0 params {T, I} · 1 gu f32[T, 2I] · 2 h f32[T, I]
// Workgroup: 256 threads, one thread per element of h, 2-D grid of workgroups past 65535.
struct Params { T: u32, I: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g)); // in (0, 1]: never overflows
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * 256u + lid;
  let t = e / p.I;
  if (t >= p.T) { return; }
  let i = e - t * p.I;
  let g = gu[t * 2u * p.I + i];
  let u = gu[t * 2u * p.I + p.I + i];
  h[e] = g * sigmoid(g) * u;
}
