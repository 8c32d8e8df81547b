// A decode step's attention in one dispatch (src/kernels/attention_decode.ts): one token a sequence,
// its keys 0 … pos[t] (the earlier ones in the cache), one workgroup per (query head h, token t) — no
// key chunks and no merge dispatch (attention_gqa.wgsl's split takes two). RoPE inside: q and the
// token's own k are rotated as they are loaded; the own key and value are read from workgroup memory,
// and the first query head of each KV-head group writes them to the cache at (slot[t], pos[t]) (no
// workgroup of this dispatch reads that cell). A position outside [0, min(maxPos, L)) makes the
// token's output NaN and writes no cache cell, as rope_kv.wgsl does.
//   s_j = q·k_j/√D (j ≤ pos), m = max s, l = Σ e^(s_j − m), out[t, h, :] = Σ e^(s_j − m) v_j / l, lse = m + log l
// Threads: WG / LK key slots of LK lanes (subgroups of consecutive invocations, at least LK wide, as
// gemv_reduce_subgroup.wgsl takes). Slot k walks keys k, k + NS, k + 2·NS, … (KU of them a trip,
// their K and V loads issued together); lane c of a slot owns the head's vec4s c, c + LK, … (VL of
// them), so a key's dot is VL vec4 dots and a butterfly over the slot's LK lanes (no workgroup memory,
// no barrier in the walk). Each slot keeps its own online softmax (m, l, acc); at the end the slots
// are merged: the max by subgroupMax and workgroup memory, the weighted sums by a butterfly across
// a subgroup's slots, then the subgroups' sums through workgroup memory, 8 at a time.
// H100 (twenty-ninth session): 8 lanes a key, 2 keys a trip, 256 threads took a decode step's pass
// 1.722 → 1.619 ms at G = 1 and 2.956 → 2.817 at G = 16 against the split, with the walk in this order
// (loads, own-key substitution, dots); the first one-dispatch form (each thread a whole key, then a
// thread a dim walking all keys) had been 2.2× slower than the split.
// Bindings: 0 params · 1 qkv vec4<f32>[T, (H+2K)·D/4] (not rotated) · 2 kc, 3 vc vec4<f32>[B, L, K, D/4]
//           · 4 slot, 5 pos i32[T] · 6 out vec4<f32>[T, H·D/4] · 7 lse f32[T, H] · 8 table vec4<f32>[maxPos, D/4]
// The wrapper puts `enable subgroups;` first, then rope_rot.wgsl (rot()), then this file.
struct Params { T: u32, H: u32, K: u32, L: u32, scale: f32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> slot: array<i32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
@group(0) @binding(8) var<storage, read> table: array<vec4<f32>>;

override GQ: u32 = 6;   // query heads a KV head
override HD: u32 = 128; // head dim: a multiple of 8, ≤ 256, HD / 4 a multiple of LK, HD / (4·LK) ≤ MAXV
override LK: u32 = 4;   // lanes a key: 1, 2, 4, …, 32, at most the subgroup's width
override KU: u32 = 2;   // keys a slot walks a trip (1 or 2)
override WG: u32 = 256; // threads, a multiple of 32
override D4: u32 = HD / 4u;
override VL: u32 = D4 / LK; // vec4s a lane
override NS: u32 = WG / LK; // key slots
const MAXV = 8u;
const ROWS = 8u; // subgroups' sums merged at a time

var<workgroup> kown: array<vec4<f32>, D4>;       // the token's own key, rotated
var<workgroup> vown: array<vec4<f32>, D4>;       // its value
var<workgroup> red: array<vec4<f32>, ROWS * D4>; // [ROWS][D4]: subgroups' weighted sums
var<workgroup> lred: array<f32, 8>;              // [ROWS]: their Σ l
var<workgroup> smax: array<f32, 256>;            // [WG / subgroup width]: the subgroups' max
var<workgroup> uni: vec2<i32>;                   // (subgroup width, pos[t]): read as uniform values

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  if (t >= p.T) { return; } // uniform per workgroup
  let width = subgroupAdd(1u); // every invocation is active here: the subgroup's width
  if (lid == 0u) { uni = vec2(i32(width), pos[t]); }
  let un = workgroupUniformLoad(&uni);
  let sg = u32(un.x);
  let ps = un.y;
  let valid = ps >= 0 && u32(ps) < min(p.maxPos, p.L);
  let own = select(0u, u32(ps), valid);
  let g = h / GQ;
  let row4 = (p.H + 2u * p.K) * D4;
  let base = (u32(slot[t]) * p.L * p.K * HD + g * HD) / 4u; // vec4s; + key · K·D/4
  let stride = p.K * D4;
  let H4 = D4 / 2u;
  let tb = own * D4; // the position's row of the table: D/2 (cos, sin) pairs in D/4 vec4s
  let ks = lid / LK; // key slot
  let c = lid % LK;  // lane in the slot
  // q rotated and scaled: this lane's vec4s c + LK·i (vec4 d < H4 of a head pairs with d + H4)
  var q: array<vec4<f32>, MAXV>;
  let qa = t * row4 + h * D4;
  for (var i = 0u; i < VL; i++) {
    let v = c + LK * i;
    let d = v % H4;
    let r = rot(qkv[qa + d], qkv[qa + d + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
    q[i] = select(r[1], r[0], v < H4) * p.scale;
  }
  // the token's own key (rotated) and value into workgroup memory; the group's first head caches them
  let ka = t * row4 + (p.H + g) * D4;
  let va = t * row4 + (p.H + p.K + g) * D4;
  let cell = base + own * stride;
  let writes = valid && h % GQ == 0u;
  for (var d = lid; d < H4; d += WG) {
    let r = rot(qkv[ka + d], qkv[ka + d + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
    kown[d] = r[0];
    kown[d + H4] = r[1];
    if (writes) {
      kc[cell + d] = r[0];
      kc[cell + d + H4] = r[1];
    }
  }
  for (var d = lid; d < D4; d += WG) {
    let v = qkv[va + d];
    vown[d] = v;
    if (writes) { vc[cell + d] = v; }
  }
  workgroupBarrier();
  // the walk: keys j < own from the cache, j = own from workgroup memory
  let n = own + 1u;
  let trips = (n + NS * KU - 1u) / (NS * KU);
  var m = -3.0e38;
  var l = 0.0;
  var acc: array<vec4<f32>, MAXV>;
  for (var it = 0u; it < trips; it++) {
    var kk: array<array<vec4<f32>, MAXV>, 2>;
    var vv: array<array<vec4<f32>, MAXV>, 2>;
    var s: array<f32, 2>;
    for (var u = 0u; u < KU; u++) { // both keys' loads first, then their use
      let j = (it * KU + u) * NS + ks;
      let kb = base + select(0u, j, j < own) * stride + c; // past the cached keys: key 0's (in bounds, weighed 0 or replaced)
      for (var i = 0u; i < VL; i++) {
        kk[u][i] = kc[kb + LK * i];
        vv[u][i] = vc[kb + LK * i];
      }
    }
    // the own key's K and V from workgroup memory, for every key of the trip before any dot (with the
    // branch between the dots the H100's G = 1 step pass at 2 keys a trip was 1.924 ms, not 1.619)
    for (var u = 0u; u < KU; u++) {
      let j = (it * KU + u) * NS + ks;
      if (j == own) {
        for (var i = 0u; i < VL; i++) {
          kk[u][i] = kown[c + LK * i];
          vv[u][i] = vown[c + LK * i];
        }
      }
    }
    var mn = m;
    for (var u = 0u; u < KU; u++) {
      let j = (it * KU + u) * NS + ks;
      var sd = 0.0;
      for (var i = 0u; i < VL; i++) { sd += dot(q[i], kk[u][i]); }
      for (var off = 1u; off < LK; off <<= 1u) { sd += subgroupShuffleXor(sd, off); }
      s[u] = select(-3.0e38, sd, j < n);
      mn = max(mn, s[u]);
    }
    let cr = exp(m - mn);
    l *= cr;
    for (var i = 0u; i < VL; i++) { acc[i] *= cr; }
    for (var u = 0u; u < KU; u++) {
      let j = (it * KU + u) * NS + ks;
      let e = select(0.0, exp(s[u] - mn), j < n);
      l += e;
      for (var i = 0u; i < VL; i++) { acc[i] += e * vv[u][i]; }
    }
    m = mn;
  }
  // merge the slots: the max over the workgroup
  let nsg = WG / sg;
  let sub = lid / sg;
  let lane = lid % sg;
  let msg = subgroupMax(m);
  if (lane == 0u) { smax[sub] = msg; }
  workgroupBarrier();
  var mx = -3.0e38;
  for (var i = 0u; i < nsg; i++) { mx = max(mx, smax[i]); }
  // each slot weighed by e^(m − mx), summed over the subgroup's slots (lanes of the same c)
  let w = exp(m - mx);
  var lw = l * w;
  for (var i = 0u; i < VL; i++) { acc[i] *= w; }
  for (var off = LK; off < sg; off <<= 1u) {
    lw += subgroupShuffleXor(lw, off);
    for (var i = 0u; i < VL; i++) { acc[i] += subgroupShuffleXor(acc[i], off); }
  }
  // then over the subgroups, ROWS at a time (lanes c < LK of each hold its sums)
  var o = vec4(0.0);
  var ls = 0.0;
  for (var r0 = 0u; r0 < nsg; r0 += ROWS) {
    if (sub >= r0 && sub < r0 + ROWS && lane < LK) {
      for (var i = 0u; i < VL; i++) { red[(sub - r0) * D4 + lane + LK * i] = acc[i]; }
      if (lane == 0u) { lred[sub - r0] = lw; }
    }
    workgroupBarrier();
    let rows = min(ROWS, nsg - r0);
    for (var r = 0u; r < rows; r++) {
      if (lid < D4) { o += red[r * D4 + lid]; }
      ls += lred[r];
    }
    workgroupBarrier();
  }
  var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
  let bad = bitcast<f32>(nanBits);
  if (lid < D4) { out[(t * p.H + h) * D4 + lid] = select(vec4(bad), o / ls, valid); }
  if (lid == 0u) { lse[t * p.H + h] = select(bad, mx + log(ls), valid); }
}
