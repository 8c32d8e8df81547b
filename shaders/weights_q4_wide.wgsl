// Weight reader for the wide GEMV (matmul_gemv_wide.wgsl): the q4 layout of weights_q4.wgsl read
// 16 bytes at a time. K must be a multiple of 32, so each row is whole vec4<u32>s and the 32
// weights of one never straddle a 64-weight scale block.
//   binding 2: codes  vec4<u32>[N · K/32]  row n, vec4 j = W[n, 32j .. 32j+31], word c = 32j+8c .. +7
//   binding 3: scales u32[N · S/2]         as weights_q4.wgsl;  binding 4: codebook f32[16]
@group(0) @binding(2) var<storage, read> wdata: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> wscale: array<u32>;
@group(0) @binding(4) var<storage, read> codebook: array<f32, 16>;

var<workgroup> lut: array<f32, 16>;

/** Loads the codebook into workgroup memory; the kernel places a barrier after it. */
fn w_init(lid: u32) {
  if (lid < 16u) { lut[lid] = codebook[lid]; }
}

/** the codes of W[n, 32j .. 32j+31] */
fn w32(n: u32, j: u32, K: u32) -> vec4<u32> {
  return wdata[n * (K / 32u) + j];
}

/** the scale of W[n, 32j .. 32j+31] (one 64-block) */
fn w32_scale(n: u32, j: u32, K: u32) -> f32 {
  let bpr = (K + 63u) / 64u;
  let b = n * (bpr + (bpr & 1u)) + j / 2u;
  return unpack2x16float(wscale[b >> 1u])[b & 1u];
}

/** the 8 codebook values of one code word, unscaled: element i in bits 4i..4i+3 */
fn w_word(q: u32) -> W8 {
  return W8(
    vec4(lut[q & 15u], lut[(q >> 4u) & 15u], lut[(q >> 8u) & 15u], lut[(q >> 12u) & 15u]),
    vec4(lut[(q >> 16u) & 15u], lut[(q >> 20u) & 15u], lut[(q >> 24u) & 15u], lut[q >> 28u]),
  );
}
