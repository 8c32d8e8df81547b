// Causal GQA attention by KV-head group, with the keys optionally split into chunks ("flash-
// decoding"): the same result as attention.wgsl, for all G = H/K query heads that share one KV head
// in one workgroup. Chunk s of token t: keys p ∈ [s·CH, min((s+1)·CH, pos[t] + 1)); for query head
// h = g·G + i:
//   m = max_p q·k_p/√D,   l = Σ_p exp(q·k_p/√D − m),   acc[d] = Σ_p exp(q·k_p/√D − m) · v_p[d]
// S > 1 chunks (decode: few tokens, many chunks in parallel): part[((t·K + g)·S + s)·G + i] =
//   [acc[0 .. D), m, l], merged by attention_gqa_combine.wgsl; chunks past the token write nothing.
// DIRECT (S = 1: prefill, training): out[t, h, :] = acc / l and lse[t, h] = m + log l here.
// ROPE (decode: one token per sequence, its earlier keys in the cache; S > 1; D a multiple of 8):
// qkv is not rotated yet and the token's own k and v are not in the cache — q is rotated as it is
// loaded, and the workgroup whose chunk holds the token's own key rotates k into workgroup memory
// and reads it and v from there for that key (the merge, attention_gqa_combine.wgsl, writes them to
// the cache: this kernel's cache bindings stay read-only). A position outside [0, min(maxPos, L))
// makes q NaN, as rope_kv.wgsl does.
// Bindings: 0 params · 1 qkv vec4<f32>[T, (H+2K)·D/4] (rope applied unless ROPE) · 2 kc, 3 vc f32[B, L, K, D]
//           · 4 slot, 5 pos i32[T] · 6 part f32[T·K·S·G·(D+2)] · 7 out f32[T, H·D] · 8 lse f32[T, H]
//           · 9 table vec4<f32>[maxPos, D/4] ((cos, sin) pairs: rope.ts RopeTable; ROPE only)
// rot() comes from rope_rot.wgsl, which the wrapper puts first, and rope_cs(i) (the table's vec4 i)
// from a snippet that binds the table — or, without ROPE, binds nothing (8 storage buffers: the
// WebGPU default limit).
// Workgroup: WG threads per (kv head g, token t, chunk s) = (wid.x, wid.y + ⌊wid.z/S⌋·65535, wid.z mod S);
// keys in blocks of BK:
// (1) each thread scores (key, head) pairs with a D-long dot — the G heads of one key are
// neighbouring threads, so its loads are shared; (2) thread i < G folds head i's block into the
// running max and sum; (3) each thread owns dims lid and lid + WG of every head's accumulator, and
// one load of v serves all G heads. (2) and (3) walk all BK keys of a block, a short last block's
// extra keys weighing 0, so their loops unroll and a block's v loads go out together (a loop to n
// issued them one after another: ~1 µs each from memory). GQ (= G ≤ 8) and HD (= D ≤ 256, a multiple of 4) are override
// constants, so the head and dim loops have fixed trip counts and the accumulators stay in registers.
struct Params { T: u32, H: u32, K: u32, L: u32, S: u32, CH: u32, scale: f32, maxPos: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read> slot: array<i32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> lse: array<f32>;

override GQ: u32 = 6;   // query heads per KV head, 1…8
override HD: u32 = 128; // head dim, a multiple of 4, ≤ 256
override DIRECT: bool = false; // one chunk: normalize and write out and lse here
override WG: u32 = 128; // threads: 128, or 32 for head dims < 64 (attentionThreads)
override ROPE: bool = false; // rotate q and the token's own k here (see above)
const BK = 32u;
override D4: u32 = HD / 4u;
override QS: u32 = D4 + 1u; // q row stride in vec4s: rows of different heads start in different banks

var<workgroup> qs: array<vec4<f32>, 520>; // [GQ ≤ 8][QS ≤ 65]
var<workgroup> sc: array<f32, 256>;       // [GQ][BK] scores, then their exp
var<workgroup> corr: array<f32, 8>;       // [GQ] rescale of the accumulators for this block; DIRECT: then l
var<workgroup> kown: array<vec4<f32>, 64>; // ROPE: the token's own key, rotated [D4]
var<workgroup> vown: array<f32, 256>;      // ROPE: its value [D]

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let t = wid.y + (wid.z / p.S) * 65535u;
  let s = wid.z % p.S;
  if (t >= p.T) { return; } // uniform per workgroup
  let len = u32(pos[t]) + 1u;
  let k0 = s * p.CH;
  if (k0 >= len) { return; } // uniform per workgroup
  let k1 = min(k0 + p.CH, len);
  let row4 = (p.H + 2u * p.K) * D4;
  let base = u32(slot[t]) * p.L * p.K * HD + g * HD; // + key · K·D
  let stride = p.K * HD;
  if (ROPE) {
    // vec4 d of the first half of a head pairs with vec4 d + H4 of the second: (x1, x2) →
    // (x1·c − x2·s, x2·c + x1·s) with (c, s) of dims 4d … 4d + 3 at position pos[t]
    let H4 = D4 / 2u;
    let ps = pos[t];
    let valid = ps >= 0 && u32(ps) < min(p.maxPos, p.L);
    let tb = u32(max(ps, 0)) * D4; // the position's row of the table: D/2 pairs in D/4 vec4s
    for (var i = lid; i < GQ * H4; i += WG) {
      let h = i / H4;
      let d = i % H4;
      let a = t * row4 + (g * GQ + h) * D4 + d;
      let r = rot(qkv[a], qkv[a + H4], rope_cs(tb + 2u * d), rope_cs(tb + 2u * d + 1u));
      var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
      let bad = vec4(bitcast<f32>(nanBits));
      qs[h * QS + d] = select(bad, r[0] * p.scale, valid);
      qs[h * QS + d + H4] = select(bad, r[1] * p.scale, valid);
    }
    if (valid && k1 == len) { // this chunk holds the token's own key: rotated k and v into kown, vown
      let ka = t * row4 + (p.H + g) * D4;
      for (var d = lid; d < H4; d += WG) {
        let r = rot(qkv[ka + d], qkv[ka + d + H4], rope_cs(tb + 2u * d), rope_cs(tb + 2u * d + 1u));
        kown[d] = r[0];
        kown[d + H4] = r[1];
      }
      let va = t * row4 + (p.H + p.K + g) * D4;
      for (var d = lid; d < D4; d += WG) {
        let v = qkv[va + d];
        for (var c = 0u; c < 4u; c++) { vown[4u * d + c] = v[c]; }
      }
    }
  } else {
    for (var i = lid; i < GQ * D4; i += WG) {
      qs[(i / D4) * QS + i % D4] = qkv[t * row4 + g * GQ * D4 + i] * p.scale;
    }
  }
  workgroupBarrier();
  var m = -3.0e38; // running max and sum of head lid (threads lid < GQ)
  var l = 0.0;
  var acc: array<f32, 16>; // [GQ][2]: dims lid and lid + WG
  for (var b0 = k0; b0 < k1; b0 += BK) {
    let n = min(BK, k1 - b0);
    for (var i = lid; i < BK * GQ; i += WG) {
      let j = i / GQ;
      let h = i % GQ;
      var sv = -3.0e38;
      if (j < n) {
        sv = 0.0;
        if (ROPE && b0 + j + 1u == len) { // the token's own key (not in the cache yet)
          for (var d = 0u; d < D4; d++) { sv += dot(qs[h * QS + d], kown[d]); }
        } else {
          let kb = (base + (b0 + j) * stride) / 4u;
          for (var d = 0u; d < D4; d++) { sv += dot(qs[h * QS + d], kc[kb + d]); }
        }
      }
      sc[h * BK + j] = sv;
    }
    workgroupBarrier();
    // loops over all BK keys of the block (constant trip counts: unrolled, their loads issued
    // together); keys j ≥ n score −3e38 and weigh 0
    if (lid < GQ) {
      var mb = m;
      for (var j = 0u; j < BK; j++) { mb = max(mb, sc[lid * BK + j]); }
      var lb = 0.0;
      for (var j = 0u; j < BK; j++) {
        let e = select(0.0, exp(sc[lid * BK + j] - mb), j < n);
        sc[lid * BK + j] = e;
        lb += e;
      }
      let c = exp(m - mb);
      corr[lid] = c;
      l = l * c + lb;
      m = mb;
    }
    workgroupBarrier();
    for (var i = 0u; i < 2u; i++) {
      let d = lid + i * WG;
      if (d < HD) {
        for (var h = 0u; h < GQ; h++) { acc[h * 2u + i] *= corr[h]; }
        for (var j = 0u; j < BK; j++) { // past n: the last key's v (in bounds), times weight 0
          let key = min(b0 + j, k1 - 1u);
          var v = vc[base + key * stride + d];
          if (ROPE && key + 1u == len) { v = vown[d]; } // the token's own value (not cached yet)
          for (var h = 0u; h < GQ; h++) { acc[h * 2u + i] += sc[h * BK + j] * v; }
        }
      }
    }
    workgroupBarrier(); // the next block rewrites sc and corr
  }
  if (DIRECT) {
    if (lid < GQ) {
      corr[lid] = l;
      lse[t * p.H + g * GQ + lid] = m + log(l);
    }
    workgroupBarrier();
    let ob = (t * p.H + g * GQ) * HD;
    for (var i = 0u; i < 2u; i++) {
      let d = lid + i * WG;
      if (d < HD) {
        for (var h = 0u; h < GQ; h++) { out[ob + h * HD + d] = acc[h * 2u + i] / corr[h]; }
      }
    }
    return;
  }
  let o = ((t * p.K + g) * p.S + s) * GQ;
  for (var i = 0u; i < 2u; i++) {
    let d = lid + i * WG;
    if (d < HD) {
      for (var h = 0u; h < GQ; h++) { part[(o + h) * (HD + 2u) + d] = acc[h * 2u + i]; }
    }
  }
  if (lid < GQ) {
    part[(o + lid) * (HD + 2u) + HD] = m;
    part[(o + lid) * (HD + 2u) + HD + 1u] = l;
  }
}
