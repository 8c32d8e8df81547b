// Backward of causal GQA attention, key-major half (as attention_backward_dkv.wgsl, TRAINING
// LAYOUT), with each (query, head) pair's two D-long dots split over LP = 4 neighbouring lanes that
// read its q and dout rows as contiguous runs of vec4 — attention_backward_dkv.wgsl gives each pair
// one thread walking both rows alone, so one load instruction touches 32 rows. For key token j and
// kv head g, over the query rows i that attend to it (train_spans.wgsl) and the query heads h of the group:
//   P = exp(q_i,h·k_j/√D − lse[i,h]),  dS = P · (dout_i,h·v_j − Δ[i,h])
//   dk_j = Σ dS · q_i,h / √D,   dv_j = Σ P · dout_i,h
// Δ comes from the dq half, dispatched first.
// KB keys a workgroup (override 1, 2 or 4): a key j whose index in its segment (the prompt, or its
// branch) is a multiple of KB leads the keys j, j + s, …, j + (KB−1)·s of that segment (s: the key's
// query step, 1 in a prompt and n in a branch), which its queries j, j + s, … serve all — key b
// from the b-th on (causal) — so each q and dout row a workgroup loads serves KB keys (KB times less
// traffic); the other keys' workgroups return at once.
// Split (p.CH > 0 pairs a part; src/kernels/attention_backward.ts): a block whose leading key has more
// than CH (query, head) pairs — a shared prompt's keys: ≈ 2,100 queries × 6 heads, where a branch's
// have ≤ 255 × 6 — is cut into parts of CH pairs, one workgroup each (wid.x = g + K·part), so those
// blocks stop being the dispatch's long pole. Part 0 writes dqkv; part s ≥ 1 writes its [dk | dv]
// to part[s − 1, key row, g, 2·HD]; `reduce` (a second dispatch) adds those into dqkv.
// Bindings: 0 params {T, H, K, D, scale, CH} · 1 qkv vec4<f32>[T, (H+2K)·D/4] · 2 lse f32[T, H]
//           · 3 dout vec4<f32>[T, H·D/4] · 4 delta f32[T, H] · 5 dqkv f32[T, (H+2K)·D] (k and v columns written)
//           · 6 spans vec4<i32>[T] (start, P, n, end) of each row's unit (train_spans.wgsl)
//           · 7 part f32[S − 1, T, K, 2·HD] (split parts; a dummy when CH = 0)
// Workgroup: WG (override: 128 or 256) threads per (kv head g, key token j) = (wid.x, wid.y +
// wid.z·65535); pairs in rounds of WG/4: lanes 4p…4p+3 score pair p against the KB keys (partials
// summed through workgroup memory), then each thread owns entries lid, lid + WG, … of [dk | dv]
// (2·HD of them) of every key over the round's pairs. 256 threads halve the rounds of a key many
// queries attend (a row of a prompt shared by 8 completions of 256 tokens: ≈ 2,100 queries × 6
// query heads of Qwen2.5-1.5B's kv head). HD = D (a multiple of 4, ≤ 256) is an override constant.
struct Params { T: u32, H: u32, K: u32, D: u32, scale: f32, CH: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dqkv: array<f32>;
@group(0) @binding(6) var<storage, read> spans: array<vec4<i32>>;
@group(0) @binding(7) var<storage, read_write> part: array<f32>;

override HD: u32 = 128;
override D4: u32 = HD / 4u;
override WG: u32 = 128;
override KB: u32 = 1;      // keys a workgroup: 1, 2 or 4
const LP = 4u;             // lanes per pair
override PB: u32 = WG / LP; // pairs per round
override NE: u32 = (2u * HD + WG - 1u) / WG; // [dk | dv] entries per thread and key (≤ 4)

var<workgroup> ks: array<vec4<f32>, D4 * KB>; // [KB][D4] k_j / √D
var<workgroup> vs: array<vec4<f32>, D4 * KB>; // [KB][D4] v_j
var<workgroup> sp: array<vec2<f32>, WG * KB>; // [WG][KB] each lane's partials (q·k, dout·v)
var<workgroup> pe: array<f32, PB * KB>;       // [PB][KB] P of the round's pairs
var<workgroup> se: array<f32, PB * KB>;       // dS
var<workgroup> qoff: array<u32, PB>;          // each pair's q row, in vec4s
var<workgroup> ooff: array<u32, PB>;          // each pair's dout row, in vec4s

/** the parts a block of n (query, head) pairs is cut into: ⌈n / CH⌉, 1 unsplit (CH = 0) */
fn parts_of(n: u32) -> u32 {
  return select(1u, (n + p.CH - 1u) / p.CH, p.CH > 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x % p.K;
  let s = wid.x / p.K; // the part (split) of this block's pairs
  let j = wid.y + wid.z * 65535u;
  if (j >= p.T) { return; } // uniform per workgroup
  let u = spans[j];
  let inPrompt = j < u32(u.x) + u32(u.y);
  let qs = query_step(j, u); // the queries of key row j: j, j + qs, … (train_spans.wgsl)
  // only a block's first key's workgroup works
  if (segment_index(j, u) % KB != 0u) { return; }
  let G = p.H / p.K;
  let n = query_count(j, u) * G; // pairs: query j + (e / G)·qs, head g·G + e % G
  if (s >= parts_of(n)) { return; }
  let e0 = select(0u, s * p.CH, p.CH > 0u);   // this part's pairs [e0, e1)
  let e1 = select(n, min(n, e0 + p.CH), p.CH > 0u);
  let segEnd = select(u32(u.w), u32(u.x) + u32(u.y), inPrompt);
  let kb = min(KB, (segEnd - j + qs - 1u) / qs); // keys in this block: j + b·qs, b < kb
  let row4 = (p.H + 2u * p.K) * D4;
  for (var x = lid; x < D4 * KB; x += WG) {
    let b = x / D4;
    let d = x % D4;
    let kb4 = (j + b * qs) * row4 + (p.H + g) * D4;
    var kv = vec4<f32>(0.0);
    var vv = vec4<f32>(0.0);
    if (b < kb) { kv = qkv[kb4 + d] * p.scale; vv = qkv[kb4 + p.K * D4 + d]; }
    ks[x] = kv;
    vs[x] = vv;
  }
  workgroupBarrier();
  let pr = lid / LP;
  let ln = lid % LP;
  var acc4: array<f32, 16>; // [NE][KB]: entry lid + c·WG of [dk | dv] of key b
  for (var p0 = e0; p0 < e1; p0 += PB) {
    let e = p0 + pr;
    // [KB], zeroed each round: spelled out — SwiftShader kept the array's values from the round
    // before when it was declared without an initializer (wrong dk/dv past one round, 2026-12-06)
    var acc = array<vec2<f32>, 4>(vec2<f32>(0.0), vec2<f32>(0.0), vec2<f32>(0.0), vec2<f32>(0.0));
    var i = 0u;
    var h = 0u;
    var qo = 0u;
    var oo = 0u;
    if (e < e1) {
      i = j + (e / G) * qs;
      h = g * G + e % G;
      qo = i * row4 + h * D4;
      oo = (i * p.H + h) * D4;
      for (var d = ln; d < D4; d += LP) {
        let qv = qkv[qo + d];
        let ov = dout[oo + d];
        for (var b = 0u; b < KB; b++) {
          acc[b].x += dot(qv, ks[b * D4 + d]);
          acc[b].y += dot(ov, vs[b * D4 + d]);
        }
      }
    }
    for (var b = 0u; b < KB; b++) { sp[lid * KB + b] = acc[b]; }
    workgroupBarrier();
    if (ln == 0u && e < e1) {
      let l = lse[i * p.H + h];
      let dl = delta[i * p.H + h];
      for (var b = 0u; b < KB; b++) {
        let t = sp[lid * KB + b] + sp[(lid + 1u) * KB + b] + sp[(lid + 2u) * KB + b] + sp[(lid + 3u) * KB + b];
        // key b attends from its own row on: the pair's query index e / G ≥ b
        var P = 0.0;
        if (b < kb && e / G >= b) { P = exp(t.x - l); }
        pe[pr * KB + b] = P;
        se[pr * KB + b] = P * (t.y - dl);
      }
      qoff[pr] = qo;
      ooff[pr] = oo;
    }
    workgroupBarrier();
    let cnt = min(PB, e1 - p0);
    for (var c = 0u; c < NE; c++) {
      let e = lid + c * WG;
      let d = e % HD;
      if (e < HD) {
        for (var x = 0u; x < cnt; x++) {
          let v = qkv[qoff[x] + d / 4u][d % 4u];
          for (var b = 0u; b < KB; b++) { acc4[c * KB + b] += se[x * KB + b] * v; }
        }
      } else if (e < 2u * HD) {
        for (var x = 0u; x < cnt; x++) {
          let v = dout[ooff[x] + d / 4u][d % 4u];
          for (var b = 0u; b < KB; b++) { acc4[c * KB + b] += pe[x * KB + b] * v; }
        }
      }
    }
    workgroupBarrier(); // the next round rewrites sp, pe, se and the offsets
  }
  for (var b = 0u; b < kb; b++) {
    let kb4 = (j + b * qs) * row4 + (p.H + g) * D4;
    let vb4 = kb4 + p.K * D4;
    let pb = (((s - 1u) * p.T + j + b * qs) * p.K + g) * 2u * HD; // part s ≥ 1: [dk | dv] of this key
    for (var c = 0u; c < NE; c++) {
      let e = lid + c * WG;
      let d = e % HD;
      if (e < 2u * HD) {
        let v = select(acc4[c * KB + b], acc4[c * KB + b] * p.scale, e < HD);
        if (s > 0u) {
          part[pb + e] = v;
        } else if (e < HD) {
          dqkv[kb4 * 4u + d] = v;
        } else {
          dqkv[vb4 * 4u + d] = v;
        }
      }
    }
  }
}

// Split parts summed into dqkv: workgroup (g, key row j), thread entries e, e + WG, … of [dk | dv].
// Key j's block leader (its segment's key at index i − i % KB, i = j's) had `parts` parts; 1: nothing to add.
@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let j = wid.y + wid.z * 65535u;
  if (j >= p.T || p.CH == 0u) { return; }
  let u = spans[j];
  let lead = j - (segment_index(j, u) % KB) * query_step(j, u);
  let parts = parts_of(query_count(lead, spans[lead]) * (p.H / p.K));
  if (parts < 2u) { return; }
  let row4 = (p.H + 2u * p.K) * D4;
  let kb = (j * row4 + (p.H + g) * D4) * 4u; // k column of key j; v at kb + K·HD
  for (var e = lid; e < 2u * HD; e += WG) {
    var v = 0.0;
    for (var s = 1u; s < parts; s++) { v += part[(((s - 1u) * p.T + j) * p.K + g) * 2u * HD + e]; }
    let o = select(kb + p.K * HD + e - HD, kb + e, e < HD);
    dqkv[o] += v;
  }
}
