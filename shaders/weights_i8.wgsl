// Weight reader for the matmul kernels: int8 with one f32 scale per row, prepended to a kernel.
//   binding 2: data  vec2<u32>[N · K/8]  8 signed bytes per vec2, element 4i in the lowest byte of word i
//   binding 3: scale f32[N]              W[n, k] = q[n, k] · scale[n]
@group(0) @binding(2) var<storage, read> wdata: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> wscale: array<f32>;

fn w_init(lid: u32) {}

fn i8x4(u: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(u << 24u), bitcast<i32>(u << 16u), bitcast<i32>(u << 8u), bitcast<i32>(u)) >> vec4<u32>(24u));
}

/** W[n, 8j .. 8j+7] */
fn w8(n: u32, j: u32, K: u32) -> W8 {
  let v = wdata[n * (K / 8u) + j];
  let s = wscale[n];
  return W8(i8x4(v.x) * s, i8x4(v.y) * s);
}
