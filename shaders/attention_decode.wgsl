// A decode step's attention in one dispatch (src/kernels/attention_decode.ts): one token a sequence,
// its keys 0 … pos[t] (the earlier ones in the cache), one workgroup per (QH query heads of one KV
// head, token t) — no key chunks and no merge dispatch (attention_gqa.wgsl's split takes two). RoPE
// inside: q and the token's own k are rotated as they are loaded; the own key and value are read from
// workgroup memory, and the workgroup of each KV-head group's first query head writes them to the
// cache at (slot[t], pos[t]) (no workgroup of this dispatch reads that cell). A position outside
// [0, min(maxPos, L)) makes the token's output NaN and writes no cache cell, as rope_kv.wgsl does.
//   s_j = q·k_j/√D (j ≤ pos), m = max s, l = Σ e^(s_j − m), out[t, h, :] = Σ e^(s_j − m) v_j / l, lse = m + log l
// Threads: WG / LK key slots of LK lanes (subgroups of consecutive invocations, at least LK wide, as
// gemv_reduce_subgroup.wgsl takes). Slot k walks keys k, k + NS, k + 2·NS, … (KU of them a trip,
// their K and V loads issued together, each serving the QH heads); lane c of a slot owns a head's
// vec4s c, c + LK, … (VL of them), so a key's dot is VL vec4 dots and a butterfly over the slot's
// LK lanes (no barrier in the walk; q in registers, or in workgroup memory where QH·VL exceeds 8
// vec4s a lane). Each slot keeps its own online softmax
// (m, l, acc) a head; at the end the slots are merged head by head: the max by subgroupMax and
// workgroup memory, the weighted sums by a butterfly across a subgroup's slots, then the subgroups'
// sums through workgroup memory, 8 at a time.
// (The first one-dispatch form — each thread a whole key, then a thread a dim walking all keys — ran
// 2.2× slower than the split on an H100: a serial chain of loads per thread.)
// PF (an experiment, off by default): workgroups x ≥ H/QH of the grid (H/QH + pfX, T) read pf — a later
// kernel's weights, e.g. the layer's gate|up — and discard it, so that kernel finds them in L2; a
// decode step's attention keeps few SMs busy and waits on latency, the weights' DRAM reads could
// overlap it. (The loads feed an XOR compared with a magic value no weights produce, so the
// compiler keeps them.)
// Bindings: 0 params · 1 qkv vec4<f32>[T, (H+2K)·D/4] (not rotated) · 2 kc, 3 vc vec4<f32>[B, L, K, D/4]
//           · 4 slot, 5 pos i32[T] · 6 out vec4<f32>[T, H·D/4] · 7 lse f32[T, H] · 8 table vec4<f32>[maxPos, D/4]
//           · 9 pf vec4<u32>[pfN] (PF only: the wrapper adds the binding)
// The wrapper puts `enable subgroups;` first, then rope_rot.wgsl (rot()) and pf_load() (binding 9, or a
// stand-in that binds nothing), then this file.
struct Params { T: u32, H: u32, K: u32, L: u32, scale: f32, maxPos: u32, pfN: u32, pfX: u32, magic: vec4<u32> }

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
override QH: u32 = 1;   // query heads a workgroup (of one KV head: QH divides GQ), ≤ MAXH
override HD: u32 = 128; // head dim: a multiple of 8, ≤ 256, HD / 4 a multiple of LK, HD / (4·LK) ≤ MAXV, QH · HD / (4·LK) ≤ MAXA
override LK: u32 = 4;   // lanes a key: 1, 2, 4, …, 32, at most the subgroup's width
override KU: u32 = 2;   // keys a slot walks a trip (1 or 2)
override WG: u32 = 256; // threads, a multiple of 32
override PF: bool = false; // prefetch workgroups (x ≥ H / QH)
override D4: u32 = HD / 4u;
override VL: u32 = D4 / LK; // vec4s of a head a lane holds
override NS: u32 = WG / LK; // key slots
override QSH: bool = QH * VL > MAXV; // q in workgroup memory (read at each key) instead of registers
override QS: u32 = select(1u, QH * D4, QSH);
const MAXV = 8u;  // vec4s of a head a lane holds, and of q in registers over the QH heads
const MAXA = 24u; // vec4s of the sums a lane holds over the QH heads
const MAXH = 8u;
const ROWS = 8u; // subgroups' sums merged at a time

var<workgroup> kown: array<vec4<f32>, D4>;       // the token's own key, rotated
var<workgroup> vown: array<vec4<f32>, D4>;       // its value
var<workgroup> qs: array<vec4<f32>, QS>;         // QSH: q of the QH heads, rotated and scaled [QH][D4]
var<workgroup> red: array<vec4<f32>, ROWS * D4>; // [ROWS][D4]: subgroups' weighted sums
var<workgroup> lred: array<f32, 8>;        // [ROWS]: their Σ l
var<workgroup> smax: array<f32, 256>;      // [WG / subgroup width]: the subgroups' max
var<workgroup> uni: vec2<i32>;             // (subgroup width, pos[t]): read as uniform values

/** prefetch workgroup w of pfX·T: vec4s w·WG + lid, then every pfX·T·WG, 8 loads a trip issued together */
fn prefetch(w: u32, lid: u32) {
  let stride = p.pfX * p.T * WG;
  var a = vec4(0u);
  for (var i = w * WG + lid; i < p.pfN; i += 8u * stride) {
    var v: array<vec4<u32>, 8>;
    for (var u = 0u; u < 8u; u++) { v[u] = pf_load(min(i + u * stride, p.pfN - 1u)); }
    for (var u = 0u; u < 8u; u++) { a ^= v[u]; }
  }
  if (all(a == p.magic)) { lse[0] = 0.0; } // never in practice (p = 2⁻¹²⁸): keeps the loads
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let hw = wid.x; // heads hw·QH … hw·QH + QH − 1
  let t = wid.y;
  if (t >= p.T) { return; } // uniform per workgroup
  let HW = p.H / QH; // attention workgroups a token
  if (PF && hw >= HW) { // uniform per workgroup
    prefetch((hw - HW) + p.pfX * t, lid);
    return;
  }
  let width = subgroupAdd(1u); // every invocation is active here: the subgroup's width
  if (lid == 0u) { uni = vec2(i32(width), pos[t]); }
  let un = workgroupUniformLoad(&uni);
  let sg = u32(un.x);
  let ps = un.y;
  let valid = ps >= 0 && u32(ps) < min(p.maxPos, p.L);
  let own = select(0u, u32(ps), valid);
  let h0 = hw * QH;
  let g = h0 / GQ;
  let row4 = (p.H + 2u * p.K) * D4;
  let base = (u32(slot[t]) * p.L * p.K * HD + g * HD) / 4u; // vec4s; + key · K·D/4
  let stride = p.K * D4;
  let H4 = D4 / 2u;
  let tb = own * D4; // the position's row of the table: D/2 (cos, sin) pairs in D/4 vec4s
  let ks = lid / LK; // key slot
  let c = lid % LK;  // lane in the slot
  // q of each head rotated and scaled (vec4 d < H4 of a head pairs with d + H4): in registers, this
  // lane's vec4s c + LK·i at [hq·VL + i]; or (QSH) all of them in workgroup memory, at [hq·D4 + v]
  var q: array<vec4<f32>, MAXV>;
  if (QSH) {
    for (var i = lid; i < QH * D4; i += WG) {
      let v = i % D4;
      let d = v % H4;
      let qa = t * row4 + (h0 + i / D4) * D4;
      let r = rot(qkv[qa + d], qkv[qa + d + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
      qs[i] = select(r[1], r[0], v < H4) * p.scale;
    }
  } else {
    for (var hq = 0u; hq < QH; hq++) {
      let qa = t * row4 + (h0 + hq) * D4;
      for (var i = 0u; i < VL; i++) {
        let v = c + LK * i;
        let d = v % H4;
        let r = rot(qkv[qa + d], qkv[qa + d + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
        q[hq * VL + i] = select(r[1], r[0], v < H4) * p.scale;
      }
    }
  }
  // the token's own key (rotated) and value into workgroup memory; the group's first workgroup caches them
  let ka = t * row4 + (p.H + g) * D4;
  let va = t * row4 + (p.H + p.K + g) * D4;
  let cell = base + own * stride;
  let writes = valid && h0 % GQ == 0u;
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
  // the walk: keys j < own from the cache, j = own from workgroup memory; each key's K and V serve QH heads
  let n = own + 1u;
  let trips = (n + NS * KU - 1u) / (NS * KU);
  var m: array<f32, MAXH>;
  var l: array<f32, MAXH>;
  for (var hq = 0u; hq < QH; hq++) { m[hq] = -3.0e38; }
  var acc: array<vec4<f32>, MAXA>; // [hq·VL + i]
  for (var it = 0u; it < trips; it++) {
    var kk: array<array<vec4<f32>, MAXV>, 2>;
    var vv: array<array<vec4<f32>, MAXV>, 2>;
    for (var u = 0u; u < KU; u++) { // both keys' loads first, then their use
      let j = (it * KU + u) * NS + ks;
      let kb = base + select(0u, j, j < own) * stride + c; // past the cached keys: key 0's (in bounds, weighed 0 or replaced)
      for (var i = 0u; i < VL; i++) {
        kk[u][i] = kc[kb + LK * i];
        vv[u][i] = vc[kb + LK * i];
      }
    }
    for (var u = 0u; u < KU; u++) {
      let j = (it * KU + u) * NS + ks;
      if (j == own) {
        for (var i = 0u; i < VL; i++) {
          kk[u][i] = kown[c + LK * i];
          vv[u][i] = vown[c + LK * i];
        }
      }
    }
    for (var hq = 0u; hq < QH; hq++) {
      var s: array<f32, 2>;
      var mn = m[hq];
      for (var u = 0u; u < KU; u++) {
        let j = (it * KU + u) * NS + ks;
        var sd = 0.0;
        for (var i = 0u; i < VL; i++) {
          var qv: vec4<f32>;
          if (QSH) { qv = qs[hq * D4 + c + LK * i]; } else { qv = q[hq * VL + i]; }
          sd += dot(qv, kk[u][i]);
        }
        for (var off = 1u; off < LK; off <<= 1u) { sd += subgroupShuffleXor(sd, off); }
        s[u] = select(-3.0e38, sd, j < n);
        mn = max(mn, s[u]);
      }
      let cr = exp(m[hq] - mn);
      var lh = l[hq] * cr;
      for (var i = 0u; i < VL; i++) { acc[hq * VL + i] *= cr; }
      for (var u = 0u; u < KU; u++) {
        let j = (it * KU + u) * NS + ks;
        let e = select(0.0, exp(s[u] - mn), j < n);
        lh += e;
        for (var i = 0u; i < VL; i++) { acc[hq * VL + i] += e * vv[u][i]; }
      }
      l[hq] = lh;
      m[hq] = mn;
    }
  }
  // merge the slots, head by head: the max over the workgroup
  let nsg = WG / sg;
  let sub = lid / sg;
  let lane = lid % sg;
  var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
  let bad = bitcast<f32>(nanBits);
  for (var hq = 0u; hq < QH; hq++) {
    let msg = subgroupMax(m[hq]);
    if (lane == 0u) { smax[sub] = msg; }
    workgroupBarrier();
    var mx = -3.0e38;
    for (var i = 0u; i < nsg; i++) { mx = max(mx, smax[i]); }
    // each slot weighed by e^(m − mx), summed over the subgroup's slots (lanes of the same c)
    let w = exp(m[hq] - mx);
    var lw = l[hq] * w;
    var a: array<vec4<f32>, MAXV>;
    for (var i = 0u; i < VL; i++) { a[i] = acc[hq * VL + i] * w; }
    for (var off = LK; off < sg; off <<= 1u) {
      lw += subgroupShuffleXor(lw, off);
      for (var i = 0u; i < VL; i++) { a[i] += subgroupShuffleXor(a[i], off); }
    }
    // then over the subgroups, ROWS at a time (lanes c < LK of each hold its sums); the last
    // barrier also keeps the next head's smax writes after this head's reads
    var o = vec4(0.0);
    var ls = 0.0;
    for (var r0 = 0u; r0 < nsg; r0 += ROWS) {
      if (sub >= r0 && sub < r0 + ROWS && lane < LK) {
        for (var i = 0u; i < VL; i++) { red[(sub - r0) * D4 + lane + LK * i] = a[i]; }
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
    let h = h0 + hq;
    if (lid < D4) { out[(t * p.H + h) * D4 + lid] = select(vec4(bad), o / ls, valid); }
    if (lid == 0u) { lse[t * p.H + h] = select(bad, mx + log(ls), valid); }
  }
}
