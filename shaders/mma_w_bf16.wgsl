// The bf16 weight decode of the subgroup-matrix matmul (matmul_mma.wgsl; the LM head), composed after
// weights_bf16.wgsl and before the kernel: a lane's 32 weights of a chunk (16 at KC = 32) are four (two) 16-byte loads of bf16
// pairs, converted to f16 (bf16's exponent range is wider: the LM head's |w| ≪ 65504; below 2⁻¹⁴ f16
// keeps fewer bits, an absolute error under 6e-8).
override MMA_DECODE: u32 = 0; // (the q4 decode's choice; unused here)

/** A lane's 32 weights of a chunk as loaded: 16 words of bf16 pairs. */
struct WRaw { a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32> }

fn w_setup(lid: u32) -> u32 { return 0u; }

/** Row `row`'s weights KC·chunk + (KC / 2)·h … (32 of them; KC = 32: 16, in a and b) */
fn w_load(row: u32, chunk: u32, h: u32, K: u32) -> WRaw {
  let i = row * (K / 8u) + chunk * (KC / 8u) + h * (KC / 16u);
  if (KC == 32u) { return WRaw(wdata[i], wdata[i + 1u], vec4(0u), vec4(0u)); }
  return WRaw(wdata[i], wdata[i + 1u], wdata[i + 2u], wdata[i + 3u]);
}

/** two words as loaded (MMA_DEBUG 4: benchmarks) */
fn raw_bits(r: WRaw) -> vec2<u32> { return r.a.xy; }

/** two words of bf16 pairs (4 weights) as vec4<f16> */
fn bf4(u: vec2<u32>) -> vec4<f16> {
  return bitcast<vec4<f16>>(vec2(pack2x16float(bf2(u.x)), pack2x16float(bf2(u.y))));
}

/** the lane's KC / 2 weights into its KC / 8 vec4<f16> of ws from `at` (in order; `cbh`, `h`, `flip`: the q4 decode's) */
fn put_w(at: u32, r: WRaw, cbh: u32, h: bool, flip: bool) {
  ws[at] = bf4(r.a.xy); ws[at + 1u] = bf4(r.a.zw);
  ws[at + 2u] = bf4(r.b.xy); ws[at + 3u] = bf4(r.b.zw);
  if (KC == 32u) { return; }
  ws[at + 4u] = bf4(r.c.xy); ws[at + 5u] = bf4(r.c.zw);
  ws[at + 6u] = bf4(r.d.xy); ws[at + 7u] = bf4(r.d.zw);
}
