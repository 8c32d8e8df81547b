// Backward of causal GQA attention, query-major half (as attention_backward_dq.wgsl, TRAINING
// LAYOUT: the key rows of query t from spans[t], k/v read from qkv itself), by KV-head group: one
// workgroup per (kv head g, token t) computes Δ and dq for all G query heads of g, so each k/v row
// load serves G heads — the G heads of one key are neighbouring threads — instead of one workgroup
// per head each re-reading every key.
//   Δ[t,h] = Σ_d dout[t,h,d]·out[t,h,d],   P_s = exp(q_t,h·k_s/√D − lse[t,h]),   dS_s = P_s·(dout_t,h·v_s − Δ[t,h])
//   dq[t,h] = Σ_{key rows s of t} dS_s · k_s / √D
// Bindings: 0 params {T, H, K, D, scale} · 1 qkv vec4<f32>[T, (H+2K)·D/4] · 2 out vec4<f32>[T, H·D/4]
//           · 3 lse f32[T, H] · 4 dout vec4<f32>[T, H·D/4] · 5 dqkv f32[T, (H+2K)·D] (q columns written)
//           · 6 delta f32[T, H] (for the dk/dv half, attention_backward_dkv{,_lanes}.wgsl, dispatched after)
//           · 7 spans vec4<i32>[T] (start, P, n, end) of each row's unit (train_spans.wgsl)
// Workgroup: WG threads per (g, t) = (wid.x, wid.y + wid.z·65535); keys in blocks of BK: (1) each
// thread takes (key, head) pairs: q·k and dout·v as vec4 dots (q, dout rows in workgroup memory),
// then dS; (2) each thread owns dims lid and lid + WG of every head's dq, one k load serving all G.
// GQ = G and HD = D are override constants (G·(D/4 + 1) ≤ 264), so the loops have fixed trip counts.
struct Params { T: u32, H: u32, K: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> out: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(6) var<storage, read_write> delta: array<f32>;
@group(0) @binding(7) var<storage, read> spans: array<vec4<i32>>;

override GQ: u32 = 6;
override HD: u32 = 128;
override D4: u32 = HD / 4u;
override QS: u32 = D4 + 1u; // row stride in vec4s: the G heads' rows start in different banks
override WG: u32 = 128; // threads: 128, or 32 for head dims < 64 (attentionThreads)
const BK = 32u;

var<workgroup> qs: array<vec4<f32>, 264>;  // [GQ][QS] q / √D
var<workgroup> dos: array<vec4<f32>, 264>; // [GQ][QS] dout
var<workgroup> ds: array<f32, 256>;        // [GQ][BK] dS of the current key block
var<workgroup> hd: array<f32, 16>;         // [GQ] lse, then [8 + GQ] Δ

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let t = wid.y + wid.z * 65535u;
  if (t >= p.T) { return; } // uniform per workgroup
  let row4 = (p.H + 2u * p.K) * D4;
  let h0 = g * GQ; // first query head of the group
  for (var i = lid; i < GQ * D4; i += WG) {
    let r = (i / D4) * QS + i % D4;
    qs[r] = qkv[t * row4 + h0 * D4 + i] * p.scale;
    dos[r] = dout[(t * p.H + h0) * D4 + i];
  }
  workgroupBarrier();
  if (lid < GQ) {
    var dd = 0.0;
    let ob = (t * p.H + h0 + lid) * D4;
    for (var d = 0u; d < D4; d++) { dd += dot(dos[lid * QS + d], out[ob + d]); }
    delta[t * p.H + h0 + lid] = dd;
    hd[lid] = lse[t * p.H + h0 + lid];
    hd[8u + lid] = dd;
  }
  workgroupBarrier();
  let ks = keys_of(t, spans[t]); // a shared prompt, then the row's own branch (train_spans.wgsl)
  let len = ks.len;
  let k4 = (p.H + g) * D4; // k of key row r at r·row4 + k4, its v K·D/4 further
  var acc: array<f32, 16>; // [GQ][2]: dims lid and lid + WG
  for (var b0 = 0u; b0 < len; b0 += BK) {
    let n = min(BK, len - b0);
    for (var i = lid; i < BK * GQ; i += WG) {
      let j = i / GQ;
      let h = i % GQ;
      var dsv = 0.0;
      if (j < n) {
        var s = 0.0;
        var dp = 0.0;
        let kr = key_row(ks, b0 + j) * row4 + k4;
        let vr = kr + p.K * D4;
        for (var d = 0u; d < D4; d++) {
          s += dot(qs[h * QS + d], qkv[kr + d]);
          dp += dot(dos[h * QS + d], qkv[vr + d]);
        }
        dsv = exp(s - hd[h]) * (dp - hd[8u + h]);
      }
      ds[h * BK + j] = dsv;
    }
    workgroupBarrier();
    for (var c = 0u; c < 2u; c++) {
      let d = lid + c * WG;
      if (d < HD) {
        for (var j = 0u; j < n; j++) {
          let kv = qkv[key_row(ks, b0 + j) * row4 + k4 + d / 4u][d % 4u];
          for (var h = 0u; h < GQ; h++) { acc[h * 2u + c] += ds[h * BK + j] * kv; }
        }
      }
    }
    workgroupBarrier(); // the next block rewrites ds
  }
  let row = row4 * 4u;
  for (var c = 0u; c < 2u; c++) {
    let d = lid + c * WG;
    if (d < HD) {
      for (var h = 0u; h < GQ; h++) { dqkv[t * row + (h0 + h) * HD + d] = acc[h * 2u + c] * p.scale; }
    }
  }
}
