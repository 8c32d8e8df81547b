// Embedding gather into f32 from one row part of E [V, C] (bf16 or i8, src/formats/weights.ts):
//   out[t, c] = E[ids[t], c]   for every t whose id falls in [rowOffset, rowOffset + rows)
// One dispatch per part; together the parts write every row. An id outside [0, V) makes the part
// at rowOffset 0 write a NaN row (a loud failure, never a clamp): callers validate ids on the CPU.
// Bindings: 0 params {T, C, rowOffset, rows, V}
//           1 ids i32[T]
//           2 data u32[rows · C/2] (bf16: element 2j in the low half of word j) or u32[rows · C/4]
//             (i8: element 4j in the lowest byte of word j, two's complement)
//           3 scale f32[rows] (i8: E = q · scale[row]; bf16: any buffer, unread)
//           4 out f32[T, C]
// Workgroup: WG threads (override) per token, one workgroup per token t (2-D grid past 65535 tokens);
// each thread expands whole words (2 bf16 or 4 i8 values). FORMAT (override): 0 bf16, 1 i8.
struct Params { T: u32, C: u32, rowOffset: u32, rows: u32, V: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> data: array<u32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;
override FORMAT: u32 = 0;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; }
  let id = ids[t];
  let o = t * p.C;
  if (id < 0 || u32(id) >= p.V) {
    if (p.rowOffset == 0u) {
      var nanBits = 0x7fc00000u; // a runtime value: a constant NaN is rejected at shader creation
      for (var c = lid; c < p.C; c += WG) { out[o + c] = bitcast<f32>(nanBits); }
    }
    return;
  }
  let uid = u32(id);
  if (uid < p.rowOffset || uid >= p.rowOffset + p.rows) { return; }
  let row = uid - p.rowOffset;
  if (FORMAT == 0u) {
    let words = p.C / 2u;
    for (var j = lid; j < words; j += WG) {
      let v = data[row * words + j];
      out[o + 2u * j] = bitcast<f32>(v << 16u);
      out[o + 2u * j + 1u] = bitcast<f32>(v & 0xffff0000u);
    }
  } else {
    let words = p.C / 4u;
    let s = scale[row];
    for (var j = lid; j < words; j += WG) {
      let v = data[row * words + j];
      let q = vec4<i32>(bitcast<i32>(v << 24u), bitcast<i32>(v << 16u), bitcast<i32>(v << 8u), bitcast<i32>(v)) >> vec4<u32>(24u);
      let e = vec4<f32>(q) * s;
      out[o + 4u * j] = e.x;
      out[o + 4u * j + 1u] = e.y;
      out[o + 4u * j + 2u] = e.z;
      out[o + 4u * j + 3u] = e.w;
    }
  }
}
