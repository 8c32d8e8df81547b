// Backward of logp[m] = z[m, target] − logsumexp(z[m, :]), z = logits / T, for one vocab chunk:
//   dlogits[m, j] = dlogp[m] · (1[v0 + j = target] − exp(z[m, j] − lse[m])) / T      (in place)
// The caller then adds dlogits · E_chunk to the hidden-state gradient (matmul through the LM head).
// Bindings: 0 params · 1 logits f32[M, CH] → dlogits (in place) · 2 targets i32[M] · 3 lse f32[M] · 4 dlogp f32[M]
// Workgroup: 256 threads over the M·CH elements (2-D grid past 65535 workgroups).
struct Params { M: u32, CH: u32, v0: u32, invT: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dlogp: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.M * p.CH) { return; }
  let m = i / p.CH;
  let j = i % p.CH;
  let z = logits[i] * p.invT;
  var g = -exp(z - lse[m]);
  if (targets[m] == i32(p.v0 + j)) { g += 1.0; }
  logits[i] = dlogp[m] * g * p.invT;
}
