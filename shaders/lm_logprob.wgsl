// Log-probs of target tokens under softmax(logits / temperature), walking the vocabulary in chunks
// with an online log-sum-exp, so no [rows, vocab] tensor ever exists (only one chunk of logits).
// Entry `update`, once per chunk [v0, v0 + CH):  state[m] = (max, Σ e^{z−max}, Σ e^{z−max}·z, z_target)
//   is merged with the chunk's z = logits[m, j] / T; the target's z is picked up in its chunk.
// Entry `finish`: logp[m] = z_target − lse,  lse[m] = max + log Σ,  entropy[m] = lse − Σ e^{z−max}·z / Σ.
// Bindings: 0 params · 1 logits f32[M, CH] (this chunk) · 2 targets i32[M] · 3 state vec4<f32>[M]
//           · 4 logp f32[M] · 5 lse f32[M] · 6 entropy f32[M]
// Workgroup: 256 threads per row m (update); one thread per row (finish).
struct Params { M: u32, CH: u32, v0: u32, invT: f32, first: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> logp: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> entropy: array<f32>;

const WG = 256u;
var<workgroup> red: array<f32, WG>;

fn reduce(lid: u32, v: f32, isMax: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = select(red[lid] + red[lid + s], max(red[lid], red[lid + s]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn update(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m = wid.x + wid.y * nwg.x;
  if (m >= p.M) { return; }
  var mx = -3.0e38;
  for (var j = lid; j < p.CH; j += WG) { mx = max(mx, logits[m * p.CH + j] * p.invT); }
  let cmax = reduce(lid, mx, true);
  var se = 0.0;
  var sz = 0.0;
  for (var j = lid; j < p.CH; j += WG) {
    let z = logits[m * p.CH + j] * p.invT;
    let e = exp(z - cmax);
    se += e;
    sz += e * z;
  }
  let csum = reduce(lid, se, false);
  let cz = reduce(lid, sz, false);
  if (lid == 0u) {
    var st = vec4<f32>(-3.0e38, 0.0, 0.0, 0.0);
    if (p.first == 0u) { st = state[m]; }
    let nm = max(st.x, cmax);
    let a = exp(st.x - nm);
    let b = exp(cmax - nm);
    st = vec4(nm, st.y * a + csum * b, st.z * a + cz * b, st.w);
    let t = targets[m] - i32(p.v0);
    if (t >= 0 && u32(t) < p.CH) { st.w = logits[m * p.CH + u32(t)] * p.invT; }
    state[m] = st;
  }
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3u) {
  let m = gid.x;
  if (m >= p.M) { return; }
  let st = state[m];
  let l = st.x + log(st.y);
  lse[m] = l;
  logp[m] = st.w - l;
  entropy[m] = l - st.z / st.y;
}
