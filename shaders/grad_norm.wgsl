// Global L2 norm of many f32 buffers (the LoRA gradients) and the clip scale, without atomics or
// readback, in two passes:
//   entry `partial_sums` (one dispatch per buffer): partial[offset + w] = Σ_{i in workgroup w's share} x[i]²
//   entry `finish` (one workgroup):                  out = [Σ partial, √Σ, clip scale, 0]
//   clip scale = min(1, maxNorm / (√Σ + 1e-6)) (torch clip_grad_norm_), or 1 when maxNorm ≤ 0 (clipping off)
// Bindings: 0 params {n, offset, maxNorm} · 1 x f32[n] (`partial_sums` only) · 2 partial f32[P] · 3 out f32[4] (`finish` only)
//   `partial_sums`: n = elements of x, offset = its first slot in partial; `finish`: n = P slots to sum.
// Workgroup: WG threads. `partial_sums`: nwg workgroups (wid.x) stride over x by nwg·WG, each writes one
// slot. `finish`: a single workgroup sums the P slots. Both reduce in workgroup memory (composed after
// wg_sum_shared.wgsl: its halving tree, whatever the device).
struct Params { n: u32, offset: u32, maxNorm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256;

@compute @workgroup_size(WG)
fn partial_sums(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = wid.x * WG + lid; i < p.n; i += nwg.x * WG) {
    let v = x[i];
    acc += v * v;
  }
  let s = wg_sum(acc, lid);
  if (lid == 0u) { partial[p.offset + wid.x] = s; }
}

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += WG) { acc += partial[i]; }
  let total = wg_sum(acc, lid);
  if (lid == 0u) {
    let norm = sqrt(total);
    var scale = 1.0;
    if (p.maxNorm > 0.0) { scale = min(1.0, p.maxNorm / (norm + 1e-6)); }
    out[0] = total;
    out[1] = norm;
    out[2] = scale;
    out[3] = 0.0;
  }
}
