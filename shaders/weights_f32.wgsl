// Weight reader for the GEMV kernel: dense f32 rows (the LoRA A matrix, u = x·Aᵀ at decode sizes),
// prepended to a kernel.
//   binding 2: data vec4<f32>[N · K/4]   row-major W[N, K]
@group(0) @binding(2) var<storage, read> wdata: array<vec4<f32>>;

fn w_init(lid: u32) {}

/** W[n, 8j .. 8j+7] */
fn w8(n: u32, j: u32, K: u32) -> W8 {
  let i = n * (K / 4u) + 2u * j;
  return W8(wdata[i], wdata[i + 1u]);
}
