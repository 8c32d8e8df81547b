// attention_gqa_combine.wgsl's cache write for a decode step whose partials took RoPE in (ROPE in
// attention_gqa.wgsl): the merge workgroup of the first query head of each KV group g writes token
// t's rotated k head g and its v head g to (slot[t], pos[t]) — what rope_kv.wgsl wrote before the
// attention (the partials read that key from workgroup memory; the next step reads it here). A
// position outside [0, min(maxPos, L)) writes nothing. Needs rope_rot.wgsl.
// Bindings: 5 qkv vec4<f32>[T, (H+2K)·D/4] (unrotated) · 6 kc, 7 vc vec4<f32>[B, L, K, D/4]
//           · 8 slot i32[T] · 9 table vec4<f32>[maxPos, D/4] (rope.ts RopeTable)
@group(0) @binding(5) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> vc: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> slot: array<i32>;
@group(0) @binding(9) var<storage, read> table: array<vec4<f32>>;

fn store_own_kv(t: u32, h: u32, lid: u32) {
  let ps = pos[t];
  if (h % GQ != 0u || ps < 0 || u32(ps) >= min(p.maxPos, p.L)) { return; }
  let g = h / GQ;
  let D4 = HD / 4u;
  let H4 = D4 / 2u;
  let row4 = (p.H + 2u * p.K) * D4;
  let tb = u32(ps) * D4;
  let dst = ((u32(slot[t]) * p.L + u32(ps)) * p.K + g) * D4;
  let ka = t * row4 + (p.H + g) * D4;
  for (var d = lid; d < H4; d += WG) {
    let r = rot(qkv[ka + d], qkv[ka + d + H4], table[tb + 2u * d], table[tb + 2u * d + 1u]);
    kc[dst + d] = r[0];
    kc[dst + d + H4] = r[1];
  }
  let va = t * row4 + (p.H + p.K + g) * D4;
  for (var d = lid; d < D4; d += WG) { vc[dst + d] = qkv[va + d]; }
}
