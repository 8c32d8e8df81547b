// Backward of causal GQA attention (shaders/attention.wgsl) in the TRAINING LAYOUT
// (src/model/train-layout.ts), query-major half: dq and Δ. The keys of query row t come from its
// unit's spans[t] (train_spans.wgsl, prepended: a shared prompt, then the row's own branch) — the
// k/v the forward found in t's cache slot — so k/v are read from qkv itself (no cache, slot or pos
// bindings).
//   Δ[t,h]  = Σ_d dout[t,h,d] · out[t,h,d]
//   P_s     = exp(q_t,h·k_s/√D − lse[t,h]),  dS_s = P_s · (dout_t,h·v_s − Δ[t,h])
//   dq[t,h] = Σ_{key rows s of t} dS_s · k_s / √D        (k_s, v_s: kv head g = h / (H/K) of row s)
// Δ is also written to `delta` for the key-major half (attention_backward_dkv.wgsl), dispatched after.
// Bindings: 0 params {T, H, K, D, scale} · 1 qkv f32[T, (H+2K)·D] (rope applied)
//           · 2 out f32[T, H·D] · 3 lse f32[T, H] · 4 dout f32[T, H·D]
//           · 5 dqkv f32[T, (H+2K)·D] (only the q columns are written) · 6 delta f32[T, H]
//           · 7 spans vec4<i32>[T] (start, P, n, end) of each row's unit
// Workgroup: WG threads per (head h, token t) = (wid.x, wid.y + wid.z·65535), as the forward: each
// thread scores one key of a WG-key block (two D-long dots), then owns D/WG ≤ 4 dims of dq.
struct Params { T: u32, H: u32, K: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(6) var<storage, read_write> delta: array<f32>;
@group(0) @binding(7) var<storage, read> spans: array<vec4<i32>>;

override WG: u32 = 64;
const MAXD = 256u;

var<workgroup> qs: array<f32, MAXD>;  // q / √D
var<workgroup> dos: array<f32, MAXD>; // dout row
var<workgroup> ds: array<f32, WG>;    // dS of the current key block
var<workgroup> red: array<f32, WG>;

fn reduce_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y + wid.z * 65535u;
  if (t >= p.T) { return; } // uniform per workgroup
  let D = p.D;
  let row = (p.H + 2u * p.K) * D;
  let o = (t * p.H + h) * D;
  var dd = 0.0;
  for (var d = lid; d < D; d += WG) {
    qs[d] = qkv[t * row + h * D + d] * p.scale;
    let dy = dout[o + d];
    dos[d] = dy;
    dd += dy * out[o + d];
  }
  let Di = reduce_sum(lid, dd); // its barriers also publish qs and dos
  if (lid == 0u) { delta[t * p.H + h] = Di; }
  let L0 = lse[t * p.H + h];
  let ks = keys_of(t, spans[t]);      // a shared prompt, then the row's own branch
  let len = ks.len;
  let g = h / (p.H / p.K);
  let kcol = (p.H + g) * D;           // k of key row r at r·row + kcol, its v K·D further
  let vcol = kcol + p.K * D;
  var acc: array<f32, 4>;
  for (var p0 = 0u; p0 < len; p0 += WG) {
    let key = p0 + lid;
    var dsv = 0.0;
    if (key < len) {
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) {
        s += qs[d] * qkv[key_row(ks, key) * row + kcol + d];
        dp += dos[d] * qkv[key_row(ks, key) * row + vcol + d];
      }
      dsv = exp(s - L0) * (dp - Di);
    }
    ds[lid] = dsv;
    workgroupBarrier();
    let n = min(WG, len - p0);
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * WG;
      if (d < D) {
        var a = acc[i];
        for (var j = 0u; j < n; j++) { a += ds[j] * qkv[key_row(ks, p0 + j) * row + kcol + d]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * WG;
    if (d < D) { dqkv[t * row + h * D + d] = acc[i] * p.scale; }
  }
}
