// AdamW update of one parameter buffer (torch.optim.AdamW, amsgrad off), the gradient first
// multiplied by the clip scale that grad_norm.wgsl left on the GPU (no readback in between):
//   g = grad · scale[scaleAt];  p ← p · (1 − lr·wd)
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  p ← p − (lr / bc1) · m / (√v / √bc2 + eps)
// bc1 = 1 − β1^t, bc2 = 1 − β2^t are computed on the CPU in f64 (params stepSize = lr/bc1, sqrtBc2).
// Entry `zero`: grad ← 0 (before the first micro-batch accumulates into it).
// 1 − β1 and 1 − β2 also come from the CPU (omb1, omb2): 1 − f32(0.999) is off by 1.3e-5 relative.
// Bindings: 0 params {n, beta1, beta2, omb1, omb2, decay = 1 − lr·wd, stepSize, sqrtBc2, eps, scaleAt}
//           · 1 p f32[n] · 2 grad f32[n] · 3 m f32[n] · 4 v f32[n] · 5 scale f32[≥ scaleAt+1]
//   (`zero` declares binding 2 only)
// Workgroup: 256 threads, one element each, 2-D grid of workgroups past 65535.
struct Params { n: u32, beta1: f32, beta2: f32, omb1: f32, omb2: f32, decay: f32, stepSize: f32, sqrtBc2: f32, eps: f32, scaleAt: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let g = grad[i] * scale[p.scaleAt];
  let mi = p.beta1 * m[i] + p.omb1 * g;
  let vi = p.beta2 * v[i] + p.omb2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * p.decay - p.stepSize * mi / (sqrt(vi) / p.sqrtBc2 + p.eps);
}

@compute @workgroup_size(256)
fn zero(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i < p.n) { grad[i] = 0.0; }
}
