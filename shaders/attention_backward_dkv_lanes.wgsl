// Backward of causal GQA attention, key-major half (as attention_backward_dkv.wgsl, TRAINING
// LAYOUT), with each (query, head) pair's two D-long dots split over LP = 4 neighbouring lanes that
// read its q and dout rows as contiguous runs of vec4 — attention_backward_dkv.wgsl gives each pair
// one thread walking both rows alone, so one load instruction touches 32 rows. For key token j and
// kv head g, over the query rows i that attend to it (train_spans.wgsl) and the query heads h of the group:
//   P = exp(q_i,h·k_j/√D − lse[i,h]),  dS = P · (dout_i,h·v_j − Δ[i,h])
//   dk_j = Σ dS · q_i,h / √D,   dv_j = Σ P · dout_i,h
// Δ comes from the dq half, dispatched first.
// Bindings: 0 params {T, H, K, D, scale} · 1 qkv vec4<f32>[T, (H+2K)·D/4] · 2 lse f32[T, H]
//           · 3 dout vec4<f32>[T, H·D/4] · 4 delta f32[T, H] · 5 dqkv f32[T, (H+2K)·D] (k and v columns written)
//           · 6 spans vec4<i32>[T] (start, P, n, end) of each row's unit (train_spans.wgsl)
// Workgroup: WG (override: 128 or 256) threads per (kv head g, key token j) = (wid.x, wid.y +
// wid.z·65535); pairs in rounds of WG/4: lanes 4p…4p+3 score pair p (partials summed through
// workgroup memory), then each thread owns entries lid, lid + WG, … of [dk | dv] (2·HD of them) over
// the round's pairs. 256 threads halve the rounds of a key many queries attend (a row of a prompt
// shared by 8 completions of 256 tokens: ≈ 2,100 queries × 6 query heads of Qwen2.5-1.5B's kv
// head). HD = D (a multiple of 4, ≤ 256) is an override constant.
struct Params { T: u32, H: u32, K: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(6) var<storage, read> spans: array<vec4<i32>>;

override HD: u32 = 128;
override D4: u32 = HD / 4u;
override WG: u32 = 128;
const LP = 4u;             // lanes per pair
override PB: u32 = WG / LP; // pairs per round
override NE: u32 = (2u * HD + WG - 1u) / WG; // [dk | dv] entries per thread (≤ 4)

var<workgroup> ks: array<vec4<f32>, 64>; // k_j / √D
var<workgroup> vs: array<vec4<f32>, 64>; // v_j
var<workgroup> sp: array<vec2<f32>, WG>; // each lane's partial (q·k, dout·v)
var<workgroup> pe: array<f32, PB>;       // P of the round's pairs
var<workgroup> se: array<f32, PB>;       // dS
var<workgroup> qoff: array<u32, PB>;     // each pair's q row, in vec4s
var<workgroup> ooff: array<u32, PB>;     // each pair's dout row, in vec4s

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let j = wid.y + wid.z * 65535u;
  if (j >= p.T) { return; } // uniform per workgroup
  let G = p.H / p.K;
  let row4 = (p.H + 2u * p.K) * D4;
  let kb4 = j * row4 + (p.H + g) * D4;
  let vb4 = kb4 + p.K * D4;
  for (var d = lid; d < D4; d += WG) {
    ks[d] = qkv[kb4 + d] * p.scale;
    vs[d] = qkv[vb4 + d];
  }
  workgroupBarrier();
  let qs = query_step(j, spans[j]); // the queries of key row j: j, j + qs, … (train_spans.wgsl)
  let n = query_count(j, spans[j]) * G; // pairs: query j + (e / G)·qs, head g·G + e % G
  let pr = lid / LP;
  let ln = lid % LP;
  var acc4: array<f32, 4>; // entries lid + c·WG of [dk | dv]
  for (var p0 = 0u; p0 < n; p0 += PB) {
    let e = p0 + pr;
    var acc = vec2<f32>(0.0);
    var i = 0u;
    var h = 0u;
    var qo = 0u;
    var oo = 0u;
    if (e < n) {
      i = j + (e / G) * qs;
      h = g * G + e % G;
      qo = i * row4 + h * D4;
      oo = (i * p.H + h) * D4;
      for (var d = ln; d < D4; d += LP) {
        acc.x += dot(qkv[qo + d], ks[d]);
        acc.y += dot(dout[oo + d], vs[d]);
      }
    }
    sp[lid] = acc;
    workgroupBarrier();
    if (ln == 0u && e < n) {
      let t = sp[lid] + sp[lid + 1u] + sp[lid + 2u] + sp[lid + 3u];
      let P = exp(t.x - lse[i * p.H + h]);
      pe[pr] = P;
      se[pr] = P * (t.y - delta[i * p.H + h]);
      qoff[pr] = qo;
      ooff[pr] = oo;
    }
    workgroupBarrier();
    let cnt = min(PB, n - p0);
    for (var c = 0u; c < NE; c++) {
      let e = lid + c * WG;
      let d = e % HD;
      if (e < HD) {
        for (var x = 0u; x < cnt; x++) { acc4[c] += se[x] * qkv[qoff[x] + d / 4u][d % 4u]; }
      } else if (e < 2u * HD) {
        for (var x = 0u; x < cnt; x++) { acc4[c] += pe[x] * dout[ooff[x] + d / 4u][d % 4u]; }
      }
    }
    workgroupBarrier(); // the next round rewrites sp, pe, se and the offsets
  }
  for (var c = 0u; c < NE; c++) {
    let e = lid + c * WG;
    let d = e % HD;
    if (e < HD) {
      dqkv[kb4 * 4u + d] = acc4[c] * p.scale;
    } else if (e < 2u * HD) {
      dqkv[vb4 * 4u + d] = acc4[c];
    }
  }
}
