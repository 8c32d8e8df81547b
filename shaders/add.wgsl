// Elementwise add for residual streams: entry `main` y = a + alpha · b; entry `accumulate` y += alpha · b.
// Bindings: 0 params {n, alpha} · 1 a f32[n] (main only) · 2 b f32[n] · 3 y f32[n]
// (`accumulate` declares no binding 1: it reads and writes y in place.)
// Workgroup: 256 threads, one element each, 2-D grid of workgroups past 65535.
struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n) { y[i] = a[i] + p.alpha * b[i]; }
}

@compute @workgroup_size(256)
fn accumulate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n) { y[i] = y[i] + p.alpha * b[i]; }
}
