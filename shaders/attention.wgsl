// Causal GQA attention over a KV cache, for prefill, decode and the training forward alike:
//   out[t, h, :] = Σ_{p ≤ pos[t]} softmax_p(q[t,h]·k[slot[t], p, g] / √D) · v[slot[t], p, g],  g = h / (H/K)
//   lse[t, h]    = log Σ_p exp(q·k/√D)   (the softmax normalizer, kept for the backward pass)
// Softmax in f32 with an online (running max) rescale, keys visited in blocks of WG.
// Bindings: 0 params · 1 qkv f32[T, (H + 2K)·D] (q heads first; rope applied) · 2 kc f32[B, L, K, D]
//           · 3 vc f32[B, L, K, D] · 4 slot i32[T] · 5 pos i32[T] · 6 out f32[T, H·D] · 7 lse f32[T, H]
// Workgroup: WG threads per (head h, token t) = (wid.x, wid.y + wid.z·65535): each thread scores
// one key of the block (a full D-long dot product), then owns D/WG output dims for the weighted V sum.
struct Params { T: u32, H: u32, K: u32, D: u32, L: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> slot: array<i32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;

override WG: u32 = 64;
const MAXD = 256u;

var<workgroup> qs: array<f32, MAXD>;
var<workgroup> e: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

fn reduce_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

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
  let g = h / (p.H / p.K);
  let row = (p.H + 2u * p.K) * D;
  for (var d = lid; d < D; d += WG) { qs[d] = qkv[t * row + h * D + d] * p.scale; }
  workgroupBarrier();
  let len = u32(pos[t]) + 1u;
  let base = u32(slot[t]) * p.L * p.K * D + g * D; // + position · K·D
  let stride = p.K * D;
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<f32, 4>; // D/WG ≤ 4 dims per thread
  for (var p0 = 0u; p0 < len; p0 += WG) {
    let key = p0 + lid;
    var s = -3.0e38;
    if (key < len) {
      s = 0.0;
      let kb = base + key * stride;
      for (var d = 0u; d < D; d++) { s += qs[d] * kc[kb + d]; }
    }
    let mb = reduce_max(lid, s);
    let mNew = max(m, mb);
    var ev = 0.0;
    if (key < len) { ev = exp(s - mNew); }
    e[lid] = ev;
    let lb = reduce_sum(lid, ev); // also publishes e[] (barriers inside)
    let corr = exp(m - mNew);
    l = l * corr + lb;
    m = mNew;
    let n = min(WG, len - p0);
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * WG;
      if (d < D) {
        var a = acc[i] * corr;
        for (var j = 0u; j < n; j++) { a += e[j] * vc[base + (p0 + j) * stride + d]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * WG;
    if (d < D) { out[t * p.H * D + h * D + d] = acc[i] / l; }
  }
  if (lid == 0u) { lse[t * p.H + h] = m + log(l); }
}
