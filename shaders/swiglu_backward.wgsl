// Backward of SwiGLU (shaders/swiglu.wgsl): from dh [T, I] and the forward's input gu [T, 2I],
//   dgu[t, i]     = dh · u · silu'(g),  silu'(g) = σ(g) · (1 + g · (1 − σ(g)))   (d gate)
//   dgu[t, I + i] = dh · silu(g)                                                  (d up)
// Bindings: 0 params {T, I} · 1 gu f32[T, 2I] · 2 dh f32[T, I] · 3 dgu f32[T, 2I]
// Workgroup: 256 threads, one thread per element of dh (writes two of dgu), 2-D grid past 65535.
struct Params { T: u32, I: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gu: array<f32>;
@group(0) @binding(2) var<storage, read> dh: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgu: array<f32>;

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
  let gi = t * 2u * p.I + i;
  let g = gu[gi];
  let u = gu[gi + p.I];
  let d = dh[e];
  let s = sigmoid(g);
  dgu[gi] = d * u * (s * (1.0 + g * (1.0 - s)));
  dgu[gi + p.I] = d * g * s;
}
