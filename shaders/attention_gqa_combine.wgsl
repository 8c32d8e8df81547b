// Split-KV GQA attention, second half: merges the chunk partials of attention_gqa.wgsl (S > 1).
// For token t and query head h = g·G + i, over the chunks s < ⌈(pos[t] + 1) / CH⌉ that hold its keys:
//   M = max_s m_s,   w_s = exp(m_s − M),   den = Σ_s w_s · l_s
//   out[t, h, d] = Σ_s w_s · acc_s[d] / den,   lse[t, h] = M + log(den)
// Bindings: 0 params (as attention_gqa.wgsl) · 1 part f32[T·K·S·G·(D+2)] · 2 pos i32[T]
//           · 3 out f32[T, H·D] · 4 lse f32[T, H]
// store_own_kv comes from a snippet the wrapper puts first: attention_gqa_combine_kv.wgsl (a decode
// step whose partials rotated k themselves, ROPE: the first head of each KV group writes the token's
// rotated k and its v to the cache) or attention_gqa_combine_nokv.wgsl (nothing).
// Workgroup: WG threads per (head h, token t) = wid (x, y); the chunks' (m, l) loaded in parallel
// into workgroup memory, then each thread owns dims lid and lid + WG.
struct Params { T: u32, H: u32, K: u32, L: u32, S: u32, CH: u32, scale: f32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read> pos: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;

override GQ: u32 = 6;
override HD: u32 = 128;
override WG: u32 = 128; // threads: 128, or 32 for head dims < 64 (attentionThreads)
override CU: u32 = 8;   // chunks a trip of the output loop (a constant trip count: unrolled)

const SMAX = 256u; // chunks at most (planSplit: ≤ TARGET_WORKGROUPS.gpu / (T·K))
var<workgroup> cw: array<f32, 256>; // [S] chunk maxima m_s, then weights w_s
var<workgroup> cl: array<f32, 256>; // [S] chunk sums l_s

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let g = h / GQ;
  let W = HD + 2u;
  let first = (t * p.K + g) * p.S * GQ + h % GQ; // chunk s is row first + s·GQ
  store_own_kv(t, h, lid);
  let n = min((u32(pos[t]) + p.CH) / p.CH, SMAX);
  // every chunk's (m, l) loaded at once, one thread each (a serial walk paid a load latency per chunk)
  for (var s = lid; s < n; s += WG) {
    let r = (first + s * GQ) * W;
    cw[s] = part[r + HD];
    cl[s] = part[r + HD + 1u];
  }
  workgroupBarrier();
  var M = -3.0e38;
  for (var s = 0u; s < n; s++) { M = max(M, cw[s]); }
  workgroupBarrier(); // every thread has read the maxima: cw becomes the weights
  for (var s = lid; s < n; s += WG) { cw[s] = exp(cw[s] - M); }
  workgroupBarrier();
  var den = 0.0;
  for (var s = 0u; s < n; s++) { den += cw[s] * cl[s]; }
  var num = vec2<f32>(0.0);
  let d = min(lid, HD - 1u);             // lanes past HD read a valid dim and store nothing
  let d2 = min(lid + WG, HD - 1u);
  // CU chunks a trip, their loads issued together (a trip past n reads chunk n − 1 again, weighted 0):
  // ⌈n / CU⌉ memory latencies in a row instead of one a chunk
  for (var s = 0u; s < n; s += CU) {
    for (var i = 0u; i < CU; i++) {
      let c = min(s + i, n - 1u);
      let wgt = select(0.0, cw[c], s + i < n);
      let r = (first + c * GQ) * W;
      num.x += wgt * part[r + d];
      if (WG < HD) { num.y += wgt * part[r + d2]; }
    }
  }
  let ob = (t * p.H + h) * HD;
  if (lid < HD) { out[ob + lid] = num.x / den; }
  if (lid + WG < HD) { out[ob + lid + WG] = num.y / den; }
  if (lid == 0u) { lse[t * p.H + h] = M + log(den); }
}
