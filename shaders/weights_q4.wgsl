// Weight reader for the matmul kernels: 4-bit "q4" layout (src/formats/q4.ts), prepended to a kernel.
//   binding 2: codes  u32[N · K/8]       row n, word j = W[n, 8j..8j+7], element 8j+i in bits 4i..4i+3
//   binding 3: scales u32[N · S/2]       f16 absmax per 64-block of a row, two per word, low half first;
//                                        S = ⌈K/64⌉ rounded up to even (each row starts on a word)
//   binding 4: codebook f32[16]          value of each code (NF4 or linear)
//   W[n, k] = codebook[code] · scale[n · S + k/64]
@group(0) @binding(2) var<storage, read> wdata: array<u32>;
@group(0) @binding(3) var<storage, read> wscale: array<u32>;
@group(0) @binding(4) var<storage, read> codebook: array<f32, 16>;

var<workgroup> lut: array<f32, 16>;

/** Loads the codebook into workgroup memory; the kernel places a barrier after it. */
fn w_init(lid: u32) {
  if (lid < 16u) { lut[lid] = codebook[lid]; }
}

/** W[n, 8j .. 8j+7] */
fn w8(n: u32, j: u32, K: u32) -> W8 {
  let q = wdata[n * (K / 8u) + j];
  let bpr = (K + 63u) / 64u;
  let b = n * (bpr + (bpr & 1u)) + j / 8u;
  let s = unpack2x16float(wscale[b >> 1u])[b & 1u];
  return W8(
    vec4(lut[q & 15u], lut[(q >> 4u) & 15u], lut[(q >> 8u) & 15u], lut[(q >> 12u) & 15u]) * s,
    vec4(lut[(q >> 16u) & 15u], lut[(q >> 20u) & 15u], lut[(q >> 24u) & 15u], lut[q >> 28u]) * s,
  );
}

/** W[n, 4c .. 4c+3] (the 4-weight GEMV step: half a code word) */
fn w4(n: u32, c: u32, K: u32) -> vec4<f32> {
  let q = wdata[n * (K / 8u) + c / 2u] >> ((c & 1u) * 16u);
  let bpr = (K + 63u) / 64u;
  let b = n * (bpr + (bpr & 1u)) + c / 16u;
  let s = unpack2x16float(wscale[b >> 1u])[b & 1u];
  return vec4(lut[q & 15u], lut[(q >> 4u) & 15u], lut[(q >> 8u) & 15u], lut[(q >> 12u) & 15u]) * s;
}
