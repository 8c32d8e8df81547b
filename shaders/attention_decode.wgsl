// Decode attention in one dispatch (src/kernels/attention_decode.ts): one token a sequence, its keys
// 0 … pos[t] (the earlier ones in the cache), every query head h its own workgroup of WG threads — no
// key chunks and no merge (attention_gqa.wgsl's split needs a second dispatch). RoPE inside, as the
// split kernel's ROPE: q and the token's own k are rotated as they are loaded, the own key and value
// are read from workgroup memory, and the first query head of each KV-head group writes them to the
// cache at (slot[t], pos[t]) (the others read only keys before it). A position outside
// [0, min(maxPos, L)) makes the token's output NaN and writes no cache cell, as rope_kv.wgsl does.
//   scores s_j = q·k_j/√D (j ≤ pos, in workgroup memory: pos < SMAX), m = max s, e_j = exp(s_j − m),
//   l = Σ e_j, out[t, h, :] = Σ e_j v_j / l, lse[t, h] = m + log l
// Bindings: 0 params · 1 qkv vec4<f32>[T, (H+2K)·D/4] (not rotated) · 2 kc vec4<f32>, 3 vc f32 [B, L, K, D]
//           · 4 slot, 5 pos i32[T] · 6 out f32[T, H·D] · 7 lse f32[T, H] · 8 table vec4<f32>[maxPos, D/4]
// rot() comes from rope_rot.wgsl, composed first. Threads: (1) score keys lid, lid + WG, …, each a D-long
// dot; (2) the max and the sum by a tree in workgroup memory; (3) thread lid sums dim lid % HD over the
// keys j ≡ lid / HD (mod SPL), SPL = WG / HD partial sums per dim added at the end.
struct Params { T: u32, H: u32, K: u32, L: u32, scale: f32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<f32>;
@group(0) @binding(4) var<storage, read> slot: array<i32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
@group(0) @binding(8) var<storage, read> table: array<vec4<f32>>;

override GQ: u32 = 6;      // query heads a KV head
override HD: u32 = 128;    // head dim, a multiple of 8, ≤ WG
override SMAX: u32 = 2048; // most keys (pos < SMAX)
const WG = 256u;
override D4: u32 = HD / 4u;
override SPL: u32 = WG / HD; // partial sums a dim in (3)

var<workgroup> qs: array<vec4<f32>, 64>;   // q rotated, × 1/√D [D4]
var<workgroup> kown: array<vec4<f32>, 64>; // the token's own key, rotated [D4]
var<workgroup> vown: array<f32, 256>;      // its value [D]
var<workgroup> sc: array<f32, SMAX>;       // scores, then their exp
var<workgroup> red: array<f32, WG>;        // the tree's partial maxima / sums, then (3)'s partial sums

/** the tree over red[0 … WG): max (op 0) or sum (op 1) of every thread's v, in every thread */
fn reduce(lid: u32, v: f32, op: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var w = WG / 2u; w > 0u; w /= 2u) {
    if (lid < w) { red[lid] = select(max(red[lid], red[lid + w]), red[lid] + red[lid + w], op == 1u); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is rewritten next
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= p.T) { return; } // uniform per workgroup
  let g = h / GQ;
  let ps = pos[t];
  let valid = ps >= 0 && u32(ps) < min(min(p.maxPos, p.L), SMAX);
  let own = u32(max(ps, 0));
  let n = select(1u, own + 1u, valid); // keys (an invalid token still walks one, its q NaN)
  let row4 = (p.H + 2u * p.K) * D4;
  let base = u32(slot[t]) * p.L * p.K * HD + g * HD; // + key · K·D
  let stride = p.K * HD;
  let H4 = D4 / 2u;
  let tb = own * D4; // the position's row of the table
  var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
  let bad = vec4(bitcast<f32>(nanBits));
  for (var d = lid; d < H4; d += WG) {
    let a = t * row4 + h * D4 + d;
    let r = rot(qkv[a], qkv[a + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
    qs[d] = select(bad, r[0] * p.scale, valid);
    qs[d + H4] = select(bad, r[1] * p.scale, valid);
    let ka = t * row4 + (p.H + g) * D4 + d;
    let rk = rot(qkv[ka], qkv[ka + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
    kown[d] = rk[0];
    kown[d + H4] = rk[1];
    if (valid && h % GQ == 0u) { // the group's first head caches the token's k
      kc[(base + own * stride) / 4u + d] = rk[0];
      kc[(base + own * stride) / 4u + d + H4] = rk[1];
    }
  }
  for (var d = lid; d < HD; d += WG) {
    let v = qkv[t * row4 + (p.H + p.K + g) * D4 + d / 4u][d % 4u];
    vown[d] = v;
    if (valid && h % GQ == 0u) { vc[base + own * stride + d] = v; }
  }
  workgroupBarrier();
  // (1) scores
  var mx = -3.0e38;
  for (var j = lid; j < n; j += WG) {
    var s = 0.0;
    if (j == own) {
      for (var d = 0u; d < D4; d++) { s += dot(qs[d], kown[d]); }
    } else {
      let kb = (base + j * stride) / 4u;
      for (var d = 0u; d < D4; d++) { s += dot(qs[d], kc[kb + d]); }
    }
    sc[j] = s;
    mx = max(mx, s);
  }
  // (2) max, exp, sum
  let m = reduce(lid, mx, 0u);
  var sum = 0.0;
  for (var j = lid; j < n; j += WG) {
    let e = exp(sc[j] - m);
    sc[j] = e;
    sum += e;
  }
  let l = reduce(lid, sum, 1u); // (its barriers also order the exps before (3))
  // (3) Σ e_j v_j: dim lid % HD, keys j ≡ lid / HD (mod SPL)
  let d = lid % HD;
  let part = lid / HD;
  var acc = 0.0;
  if (part < SPL) {
    for (var j = part; j < n; j += SPL) {
      var v = vc[base + j * stride + d];
      if (j == own) { v = vown[d]; }
      acc += sc[j] * v;
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  if (lid < HD) {
    var o = 0.0;
    for (var i = 0u; i < SPL; i++) { o += red[i * HD + lid]; }
    out[(t * p.H + h) * HD + lid] = o / l;
  }
  if (lid == 0u) { lse[t * p.H + h] = m + log(l); }
}
