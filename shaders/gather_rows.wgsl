// CSR row gather-sum over f32 rows of C floats:
//   dst[i, :] = Σ_{e ∈ [off[i], off[i+1])} src[idx[e], :]   for i in [0, rows); an empty list writes 0.
// Gathers rows (one index per list) or scatter-adds them without atomics (the CSR lists per
// destination row); sums in list order, so the result is deterministic.
// Bindings: 0 params {rows, C, n = rows·C}
//           1 src f32[S, C] (any S covering every idx) · 2 off u32[rows + 1] (non-decreasing)
//           3 idx u32[off[rows]] (each in [0, S)) · 4 dst f32[rows, C]
// Workgroup: 256 threads, one dst element (row, column) each, 2-D grid of workgroups past 65535.
struct Params { rows: u32, C: u32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> off: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (j >= p.n) { return; }
  let i = j / p.C;
  let c = j - i * p.C;
  var s = 0.0;
  for (var e = off[i]; e < off[i + 1u]; e++) {
    s += src[idx[e] * p.C + c];
  }
  dst[j] = s;
}
