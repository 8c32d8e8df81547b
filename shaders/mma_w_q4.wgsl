// The q4 weight decode of the subgroup-matrix matmul (matmul_mma.wgsl), composed after weights_q4_wide.wgsl
// and a code-byte table snippet (matmul_mma.ts: MMA_Q4_LUT with lut2 for MMA_DECODE 0, else MMA_Q4_NO_LUT —
// a table nobody reads would still take 1 KiB of the workgroup memory), before the kernel: w_setup(),
// w_load() (a lane's KC / 2 weights of a chunk), put_w() (decoded to f16 into workgroup memory).
override MMA_DECODE: u32 = 0;              // 0: code bytes through lut2; 1: each code's value by a subgroup shuffle from lane code (cbh); 2: the same written out word by word (put_w_words); 3: word by word, each code's value loaded from the codebook buffer (no table, no shuffles)

/** A lane's weights of a chunk as loaded: their codes (one 16-byte load: 32 weights; at KC = 32 the whole chunk row, of which the lane decodes half) and their block's scale. */
struct WRaw { q: vec4<u32>, s: f32 }

/** Fills the code-byte table where there is one (every thread one entry; the kernel places a barrier after it); this lane's codebook[lane & 15] as f16 bits (the shuffle decode's). */
fn w_setup(lid: u32) -> u32 {
  lut_fill(lid);
  return pack2x16float(vec2(codebook[lid & 15u], 0.0));
}

/** two words of the loaded codes as they are (MMA_DEBUG 4: benchmarks) */
fn raw_bits(r: WRaw) -> vec2<u32> { return r.q.xy; }

/** Row `row`'s weights KC·chunk + 32·h … + 31 (KC = 64), or KC·chunk … + 31 (KC = 32: both lanes of a row load the same 16 bytes) */
fn w_load(row: u32, chunk: u32, h: u32, K: u32) -> WRaw {
  let j = select(chunk, chunk * 2u + h, KC == 64u);
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
  if (KC == 32u) { put_w_half(at, r, cbh, h, flip); return; } // (word by word: decodes 1 and 2 the same there)
  if (MMA_DECODE >= 2u) { put_w_words(at, r, cbh, h, flip); return; }
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
        p[i] = lut_pair(b) * s2;
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

/** codebook values of byte b's two codes by the decode MMA_DECODE picks: the table (0), the shuffles (1, 2) or the codebook buffer (3) */
fn byte_pair(b: u32, cbh: u32) -> vec2<f16> {
  if (MMA_DECODE == 0u) { return lut_pair(b); }
  if (MMA_DECODE == 3u) { return vec2<f16>(vec2(codebook[b & 15u], codebook[b >> 4u])); }
  return code_pair(b, cbh);
}

/** one code word (8 weights) times s2 into ws[at + v] (bytes 0, 1) and ws[at + (v ^ 1)] (bytes 2, 3); `flip` swaps its 16-bit halves first */
fn put_word(at: u32, v: u32, q: u32, s2: vec2<f16>, cbh: u32, flip: bool) {
  let w = select(q, (q >> 16u) | (q << 16u), flip);
  if (MMA_DEBUG == 5u) { // (benchmarks: the codes' values unscaled)
    ws[at + v] = vec4<f16>(byte_pair(w & 255u, cbh), byte_pair((w >> 8u) & 255u, cbh));
    ws[at + (v ^ 1u)] = vec4<f16>(byte_pair((w >> 16u) & 255u, cbh), byte_pair(w >> 24u, cbh));
    return;
  }
  if (MMA_DEBUG == 6u) { // (benchmarks: the code bits as they are, no values)
    ws[at + v] = bitcast<vec4<f16>>(vec2(w & 0xff00ffu, w >> 8u));
    ws[at + (v ^ 1u)] = bitcast<vec4<f16>>(vec2(w & 0xff00ffu, w >> 16u));
    return;
  }
  ws[at + v] = vec4<f16>(byte_pair(w & 255u, cbh) * s2, byte_pair((w >> 8u) & 255u, cbh) * s2);
  ws[at + (v ^ 1u)] = vec4<f16>(byte_pair((w >> 16u) & 255u, cbh) * s2, byte_pair(w >> 24u, cbh) * s2);
}

/**
 * KC = 32: the lane's half of its row's chunk — words 2h, 2h + 1 of the row's code vec4 (16 weights) —
 * into its 4 vec4<f16> of ws from `at` (word c' to v = 2c', v + 1; `flip`: rows 8–15, v ^ 1, so that each
 * store instruction's 32 lanes fill 2 wavefronts at a row stride of 80 bytes).
 */
fn put_w_half(at: u32, r: WRaw, cbh: u32, h: bool, flip: bool) {
  let s2 = vec2<f16>(f16(r.s));
  let fl = select(0u, 1u, flip);
  put_word(at, fl, select(r.q.x, r.q.z, h), s2, cbh, flip);
  if (MMA_SERIAL) { workgroupBarrier(); }
  put_word(at, 2u ^ fl, select(r.q.y, r.q.w, h), s2, cbh, flip);
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
