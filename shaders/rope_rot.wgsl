// RoPE of 4 dims for the kernels that rotate as they load (attention_gqa.wgsl, attention_gqa_combine_kv.wgsl):
// x1 from the first half of a head, x2 the matching dims of the second; cs0, cs1 the table's (cos,
// sin) pairs of the 4 dims (rope.ts RopeTable read as vec4) → (x1·c − x2·s, x2·c + x1·s), as rope_kv.wgsl.
fn rot(x1: vec4<f32>, x2: vec4<f32>, cs0: vec4<f32>, cs1: vec4<f32>) -> array<vec4<f32>, 2> {
  let c = vec4(cs0.x, cs0.z, cs1.x, cs1.z);
  let s = vec4(cs0.y, cs0.w, cs1.y, cs1.w);
  return array<vec4<f32>, 2>(x1 * c - x2 * s, x2 * c + x1 * s);
}
