// Weight reader for the matmul kernels: bf16 bit patterns, prepended to a kernel.
//   binding 2: data vec4<u32>[N · K/8]   8 bf16 per vec4, element 2i in the low half of word i
//   W[n, k] = f32(bf16 bits)  (exact: bf16 checkpoints are read without loss)
@group(0) @binding(2) var<storage, read> wdata: array<vec4<u32>>;

fn w_init(lid: u32) {}

fn bf2(u: u32) -> vec2<f32> {
  return vec2(bitcast<f32>(u << 16u), bitcast<f32>(u & 0xffff0000u));
}

/** W[n, 8j .. 8j+7] */
fn w8(n: u32, j: u32, K: u32) -> W8 {
  let v = wdata[n * (K / 8u) + j];
  return W8(vec4(bf2(v.x), bf2(v.y)), vec4(bf2(v.z), bf2(v.w)));
}

/** W[n, 4c .. 4c+3] (the 4-weight GEMV step: half a vec4 of pairs) */
fn w4(n: u32, c: u32, K: u32) -> vec4<f32> {
  let v = wdata[n * (K / 8u) + c / 2u];
  let h = select(v.xy, v.zw, (c & 1u) != 0u);
  return vec4(bf2(h.x), bf2(h.y));
}
