// Backward of causal GQA attention (shaders/attention.wgsl) in the TRAINING LAYOUT (see
// attention_backward_dq.wgsl), key-major half: dk and dv without atomics. For key row j and kv
// head g, over the query rows i that attend to it (train_spans.wgsl: the rest of its branch; for a
// shared prompt row, the rest of the prompt and every branch) and the query heads h of the group
// (h / (H/K) = g):
//   P = exp(q_i,h·k_j/√D − lse[i,h]),  dS = P · (dout_i,h·v_j − Δ[i,h])
//   dk_j = Σ dS · q_i,h / √D,   dv_j = Σ P · dout_i,h
// Δ comes from attention_backward_dq.wgsl, which must be dispatched first.
// Bindings: 0 params {T, H, K, D, scale} · 1 qkv f32[T, (H+2K)·D] · 2 lse f32[T, H]
//           · 3 dout f32[T, H·D] · 4 delta f32[T, H] · 5 dqkv f32[T, (H+2K)·D] (k and v columns written)
//           · 6 spans vec4<i32>[T] (start, P, n, end) of each row's unit (train_spans.wgsl)
// Workgroup: WG threads per (kv head g, key token j) = (wid.x, wid.y + wid.z·65535): each thread
// scores one (query, head) pair of a WG-pair block, then owns D/WG ≤ 4 dims of dk and dv.
struct Params { T: u32, H: u32, K: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(6) var<storage, read> spans: array<vec4<i32>>;

override WG: u32 = 64;
const MAXD = 256u;

var<workgroup> ks: array<f32, MAXD>; // k_j / √D
var<workgroup> vs: array<f32, MAXD>; // v_j
var<workgroup> pe: array<f32, WG>;   // P of the current pair block
var<workgroup> se: array<f32, WG>;   // dS of the current pair block
var<workgroup> qoff: array<u32, WG>; // offset of each pair's q row in qkv
var<workgroup> ooff: array<u32, WG>; // offset of each pair's dout row

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let j = wid.y + wid.z * 65535u;
  if (j >= p.T) { return; } // uniform per workgroup
  let D = p.D;
  let G = p.H / p.K;
  let row = (p.H + 2u * p.K) * D;
  let kb = j * row + (p.H + g) * D;
  let vb = kb + p.K * D;
  for (var d = lid; d < D; d += WG) {
    ks[d] = qkv[kb + d] * p.scale;
    vs[d] = qkv[vb + d];
  }
  workgroupBarrier();
  let qs = query_step(j, spans[j]); // the queries of key row j: j, j + qs, … (train_spans.wgsl)
  let n = query_count(j, spans[j]) * G; // pairs: query j + (e / G)·qs, head g·G + e % G
  var dk: array<f32, 4>;
  var dv: array<f32, 4>;
  for (var p0 = 0u; p0 < n; p0 += WG) {
    let e = p0 + lid;
    var P = 0.0;
    var dS = 0.0;
    var qo = 0u;
    var oo = 0u;
    if (e < n) {
      let i = j + (e / G) * qs;
      let h = g * G + e % G;
      qo = i * row + h * D;
      oo = (i * p.H + h) * D;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < D; d++) {
        s += qkv[qo + d] * ks[d];
        dp += dout[oo + d] * vs[d];
      }
      P = exp(s - lse[i * p.H + h]);
      dS = P * (dp - delta[i * p.H + h]);
    }
    pe[lid] = P;
    se[lid] = dS;
    qoff[lid] = qo;
    ooff[lid] = oo;
    workgroupBarrier();
    let cnt = min(WG, n - p0);
    for (var c = 0u; c < 4u; c++) {
      let d = lid + c * WG;
      if (d < D) {
        var a = dk[c];
        var b = dv[c];
        for (var x = 0u; x < cnt; x++) {
          a += se[x] * qkv[qoff[x] + d];
          b += pe[x] * dout[ooff[x] + d];
        }
        dk[c] = a;
        dv[c] = b;
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * WG;
    if (d < D) {
      dqkv[kb + d] = dk[c] * p.scale;
      dqkv[vb + d] = dv[c];
    }
  }
}
