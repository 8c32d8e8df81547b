// The KV cache of attention_gqa.wgsl, writable (ROPE: a decode step's attention stores each token's
// own rotated k and its v): kc vec4<f32>[B·L·K·D/4], vc f32[B·L·K·D].
@group(0) @binding(2) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> vc: array<f32>;

fn store_k(i: u32, x: vec4<f32>) { kc[i] = x; }
fn store_v(i: u32, x: f32) { vc[i] = x; }
