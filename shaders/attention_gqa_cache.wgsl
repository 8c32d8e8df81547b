// The KV cache of attention_gqa.wgsl, read-only (every use but a decode step's RoPE in the attention):
// kc vec4<f32>[B·L·K·D/4], vc f32[B·L·K·D]; the ROPE branch's stores do nothing (it never runs).
@group(0) @binding(2) var<storage, read> kc: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;

fn store_k(i: u32, x: vec4<f32>) {}
fn store_v(i: u32, x: f32) {}
