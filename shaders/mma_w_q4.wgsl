// The q4 weight decode of the subgroup-matrix matmul (matmul_mma.wgsl), composed after weights_q4_wide.wgsl
// and before the kernel: w_setup() (the code-byte table), w_load() (a lane's 32 weights of a chunk),
// put_w() (decoded to f16 into workgroup memory). MMA_DECODE picks the decode.
var<workgroup> lut2: array<u32, 256>;      // code byte b → the f16 pair (codebook[b & 15], codebook[b >> 4])
override MMA_DECODE: u32 = 0;              // 0: code bytes through lut2; 1: each code's value by a subgroup shuffle from lane code (cbh); 2: the same written out word by word (put_w_words)

/** A lane's 32 weights of a chunk as loaded: their codes (one 16-byte load) and their block's scale. */
struct WRaw { q: vec4<u32>, s: f32 }

/** Fills lut2 (every thread one entry; the kernel places a barrier after it); this lane's codebook[lane & 15] as f16 bits (the shuffle decode's). */
fn w_setup(lid: u32) -> u32 {
  lut2[lid] = pack2x16float(vec2(codebook[lid & 15u], codebook[lid >> 4u]));
  return pack2x16float(vec2(codebook[lid & 15u], 0.0));
}

/** Row `row`'s weights 64·chunk + 32·h … + 31 (a 32-weight step of the wide reader) */
fn w_load(row: u32, chunk: u32, h: u32, K: u32) -> WRaw {
  let j = chunk * 2u + h;
  return WRaw(w32(row, j, K), w32_scale(row, j, K));
}

/**
 * The 32 weights of code vec4 `q` times scale `s` (f16 products) into this lane's 8 vec4<f16> of ws
 * from `at` (vec4 v = weights 4v … 4v + 3); `cbh`: this lane's codebook[lane & 15] as f16 bits
 * (MMA_DECODE 1). The order of the 8 stores depends on the lane, so that each store instruction's 32
 * lanes fill 2 wavefronts (rows 144 bytes apart alone put 4 lanes on a bank): `h` (the lane's half of the
 * chunk) swaps its words 0, 1 with 2, 3 (v ^ 4), `flip` (rows 8–15) its words' 16-bit halves (v ^ 1).
 */
fn put_w(at: u32, r: WRaw, cbh: u32, h: bool, flip: bool) {
  if (MMA_DECODE == 2u) { put_w_words(at, r, cbh, h, flip); return; }
  let s2 = vec2<f16>(f16(r.s));
  let q = select(r.q, r.q.zwxy, h);
  for (var c = 0u; c < 4u; c++) {
    let w = select(q[c], (q[c] >> 16u) | (q[c] << 16u), flip);
    var p: array<vec2<f16>, 4>;
    for (var i = 0u; i < 4u; i++) {
      let b = (w >> (8u * i)) & 255u;
      if (MMA_DECODE == 1u) {
        p[i] = code_pair(b, cbh) * s2;
      } else {
        p[i] = bitcast<vec2<f16>>(lut2[b]) * s2;
      }
    }
    let v = (2u * c) ^ select(0u, 4u, h) ^ select(0u, 1u, flip); // where p[0], p[1] go; p[2], p[3] to v ^ 1
    ws[at + v] = vec4<f16>(p[0], p[1]);
    ws[at + (v ^ 1u)] = vec4<f16>(p[2], p[3]);
  }
}


/** codebook values of byte b's two codes (low nibble first) as an f16 pair, by two shuffles from the lanes holding them */
fn code_pair(b: u32, cbh: u32) -> vec2<f16> {
  return bitcast<vec2<f16>>(subgroupShuffle(cbh, b & 15u) | (subgroupShuffle(cbh, b >> 4u) << 16u));
}

/** one code word (8 weights) times s2 into ws[at + v] (bytes 0, 1) and ws[at + (v ^ 1)] (bytes 2, 3); `flip` swaps its 16-bit halves first */
fn put_word(at: u32, v: u32, q: u32, s2: vec2<f16>, cbh: u32, flip: bool) {
  let w = select(q, (q >> 16u) | (q << 16u), flip);
  ws[at + v] = vec4<f16>(code_pair(w & 255u, cbh) * s2, code_pair((w >> 8u) & 255u, cbh) * s2);
  ws[at + (v ^ 1u)] = vec4<f16>(code_pair((w >> 16u) & 255u, cbh) * s2, code_pair(w >> 24u, cbh) * s2);
}

/**
 * put_w's shuffle decode (MMA_DECODE 2) with no loop, no local array and no run-time vector index — the
 * same stores in the same places (word c of the swapped code vec4 to v = 2c ^ sw) — in case the driver's
 * compiler keeps put_w's loops (a local array indexed at run time can live in slow local memory).
 */
fn put_w_words(at: u32, r: WRaw, cbh: u32, h: bool, flip: bool) {
  let s2 = vec2<f16>(f16(r.s));
  let q = select(r.q, r.q.zwxy, h);
  let sw = select(0u, 4u, h) ^ select(0u, 1u, flip);
  put_word(at, sw, q.x, s2, cbh, flip);
  if (MMA_SERIAL) { workgroupBarrier(); } // (matmul_mma.wgsl's override: the words' shuffles not hoisted together)
  put_word(at, 2u ^ sw, q.y, s2, cbh, flip);
  if (MMA_SERIAL) { workgroupBarrier(); }
  put_word(at, 4u ^ sw, q.z, s2, cbh, flip);
  if (MMA_SERIAL) { workgroupBarrier(); }
  put_word(at, 6u ^ sw, q.w, s2, cbh, flip);
}
