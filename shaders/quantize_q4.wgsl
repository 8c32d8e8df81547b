// Quantizes W [rows, K] (a checkpoint tensor's raw bytes: F32, BF16 or F16 by DTYPE) into the q4
// layout (src/formats/q4.ts) at rows [dstRow, dstRow + rows) of one destination part:
//   scale(n, b) = f16(absmax of W[n, 64b .. 64b+63])           (round to nearest even)
//   code(n, k)  = the codebook entry nearest to W[n, k] / scale  (ties: the smaller value)
// Exactly quantizeQ4's bits: |w| maxima, the f16 rounding and the nearest-code search (w / s > m
// ⟺ w > m·s with exact integer products) are integer arithmetic, so no GPU's float rounding,
// division precision or denormal flushing can change a code.
// Bindings: 0 params {rows, K, dstRow, segs}
//   1 src    u32[rows · K] (F32) or u32[rows · K / 2] (BF16/F16: element 2i in the low half of word i)
//   2 codes  u32[N · K/8]   the part's codes; row n, word j holds W[n, 8j .. 8j+7], element 8j+i in bits 4i..
//   3 scales u32[N · S/2]   the part's f16 scales, two per word, low half first; S = ⌈K/64⌉ rounded up to even
//   4 table  u32[64]        the codebook's search table (codebookTable in src/kernels/quantize_q4.ts):
//                           [0] midpoints M; [1 + k] code of the k-th smallest value (k ≤ M);
//                           [17 + i] / [32 + i] / [47 + i] mantissa / exponent (i32) / sign of midpoint i
// Workgroup: WG threads (override, a multiple of 16), one code word (8 weights) per thread, so a
// workgroup covers WG/8 whole blocks (WG/16 scale words) of one row; workgroups are the (row,
// segment) pairs, segs = ⌈K/8 / WG⌉ segments per row, flattened over x and y.
struct Params { rows: u32, K: u32, dstRow: u32, segs: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> codes: array<u32>;
@group(0) @binding(3) var<storage, read_write> scales: array<u32>;
@group(0) @binding(4) var<storage, read> table: array<u32, 64>;

override WG: u32 = 64;
/** 0: F32, 1: BF16, 2: F16 */
override DTYPE: u32 = 1;

var<workgroup> tab: array<u32, 64>;
var<workgroup> amax: array<u32, WG>;
var<workgroup> sbits: array<u32, WG>;

/** f16 bits → f32 bits, exact (subnormal halves become normal floats). */
fn f16_to_f32_bits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0x1fu) { return sign | 0x7f800000u | (m << 13u); }
  if (e == 0u) {
    if (m == 0u) { return sign; }
    let t = firstLeadingBit(m); // m · 2^-24 = 1.x · 2^(t - 24)
    return sign | ((t + 103u) << 23u) | ((m << (23u - t)) & 0x7fffffu);
  }
  return sign | ((e + 112u) << 23u) | (m << 13u);
}

/** f32 bits → f16 bits, round to nearest even (as f32ToF16Bits in src/formats/q4.ts). */
fn f32_to_f16_bits(x: u32) -> u32 {
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant |= 0x800000u;
    let shift = u32(14 - e);
    var half = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half & 1u) != 0u)) { half += 1u; }
    return sign | half;
  }
  var half = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u) != 0u)) { half += 1u; }
  return sign | half;
}

/** element e (0..7) of code word j of source row r, as f32 bits */
fn load(r: u32, j: u32, e: u32) -> u32 {
  let i = r * p.K + 8u * j + e;
  if (DTYPE == 0u) { return src[i]; }
  let w = src[i >> 1u];
  let h = select(w & 0xffffu, w >> 16u, (i & 1u) == 1u);
  if (DTYPE == 1u) { return h << 16u; }
  return f16_to_f32_bits(h);
}

fn bitlen(x: u32) -> i32 { return 32 - i32(countLeadingZeros(x)); }

/** (hi, lo) << n for 0 ≤ n < 64 */
fn shl64(v: vec2<u32>, n: u32) -> vec2<u32> {
  if (n == 0u) { return v; }
  if (n >= 32u) { return vec2(v.y << (n - 32u), 0u); }
  return vec2((v.x << n) | (v.y >> (32u - n)), v.y << n);
}

/** sign of a·2^ea − b·2^eb for a < 2^24 and b (hi, lo) < 2^64, both nonzero */
fn cmp_mag(a: u32, ea: i32, b: vec2<u32>, eb: i32) -> i32 {
  let la = bitlen(a);
  let lb = select(bitlen(b.y), 32 + bitlen(b.x), b.x != 0u);
  if (la + ea != lb + eb) { return select(-1, 1, la + ea > lb + eb); }
  let A = shl64(vec2(0u, a), u32(64 - la));
  let B = shl64(b, u32(64 - lb));
  if (A.x != B.x) { return select(-1, 1, A.x > B.x); }
  if (A.y != B.y) { return select(-1, 1, A.y > B.y); }
  return 0;
}

/** w / s > midpoint i, for w = ±mw·2^ew (sw: 1 if negative) and s = ms·2^es > 0 */
fn above(sw: u32, mw: u32, ew: i32, ms: u32, es: i32, i: u32) -> bool {
  let mm = tab[17u + i];
  let sm = tab[47u + i];
  if (mw == 0u || mm == 0u) {
    if (mw == 0u && mm == 0u) { return false; }
    if (mw == 0u) { return sm == 1u; } // 0 > m·s ⟺ m < 0
    return sw == 0u;
  }
  if (sw != sm) { return sw == 0u; }
  let lo = (mm & 0xffffu) * ms; // mm · ms as (hi, lo): both halves < 2^27
  let hi = (mm >> 16u) * ms;
  let plo = lo + (hi << 16u);
  let carry = select(0u, 1u, plo < lo);
  let c = cmp_mag(mw, ew, vec2((hi >> 16u) + carry, plo), bitcast<i32>(tab[32u + i]) + es);
  return select(c > 0, c < 0, sw == 1u);
}

/** the code of w (f32 bits) in a block whose f16 scale has bits sb */
fn encode(w: u32, sb: u32) -> u32 {
  let M = tab[0];
  let se = (sb >> 10u) & 0x1fu;
  let wa = w & 0x7fffffffu;
  let wnan = wa > 0x7f800000u;
  if (sb == 0u || se == 0x1fu) {
    // scale 0, inf or NaN: quantizeQ4 uses 1/scale = 0, so v = w·0 (NaN for an infinite w)
    if (wa >= 0x7f800000u) { return tab[1]; }
    return encode_value(0u, 0u, 0, 1u, 0, M);
  }
  if (wnan) { return tab[1]; }
  let ew = (wa >> 23u) & 0xffu;
  var mw = wa & 0x7fffffu;
  var eww = -149;
  if (ew != 0u) { mw |= 0x800000u; eww = i32(ew) - 150; }
  let sm = sb & 0x3ffu;
  let ms = select(sm | 0x400u, sm, se == 0u);
  let es = select(i32(se) - 25, -24, se == 0u);
  return encode_value(w >> 31u, mw, eww, ms, es, M);
}

/** binary search: k = number of midpoints below w/s; the code of the k-th smallest value */
fn encode_value(sw: u32, mw: u32, ew: i32, ms: u32, es: i32, M: u32) -> u32 {
  var lo = 0u;
  var hi = M;
  while (lo < hi) {
    let mid = (lo + hi) >> 1u;
    if (above(sw, mw, ew, ms, es, mid)) { lo = mid + 1u; } else { hi = mid; }
  }
  return tab[1u + lo];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  for (var i = lid; i < 64u; i += WG) { tab[i] = table[i]; }
  let id = wid.x + wid.y * nwg.x;
  let r = id / p.segs;
  let words = p.K / 8u;
  let j = (id % p.segs) * WG + lid;
  let live = r < p.rows && j < words;
  var v: array<u32, 8>;
  var m = 0u;
  if (live) {
    for (var e = 0u; e < 8u; e++) {
      v[e] = load(r, j, e);
      m = max(m, v[e] & 0x7fffffffu); // |w| ordered as unsigned bits (NaN above inf)
    }
  }
  amax[lid] = m;
  workgroupBarrier();
  if ((lid & 7u) == 0u) {
    var b = amax[lid];
    for (var t = 1u; t < 8u; t++) { b = max(b, amax[lid + t]); }
    sbits[lid] = f32_to_f16_bits(b);
  }
  workgroupBarrier();
  if (!live) { return; }
  let sb = sbits[lid & ~7u];
  var word = 0u;
  for (var e = 0u; e < 8u; e++) { word |= encode(v[e], sb) << (4u * e); }
  let row = p.dstRow + r;
  codes[row * words + j] = word;
  if ((lid & 15u) == 0u) {
    let bpr = (p.K + 63u) / 64u;
    let blk = j / 8u; // even: the first block of this scale word
    let high = select(0u, sbits[lid + 8u], blk + 1u < bpr);
    scales[row * ((bpr + 1u) / 2u) + blk / 2u] = sbits[lid] | (high << 16u);
  }
}
