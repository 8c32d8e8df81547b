// Plain sampling and greedy over a large vocabulary, spread over many workgroups (sample.wgsl does
// one workgroup per row: 151,936 logits walked three times by 256 threads of one core). The same
// result as sample.wgsl without top-k / top-p / min-p: token = argmax over v of z_v + Gumbel(seed,
// seq, step, v) (greedy: of z_v; the lower id on ties), logp = z[token] − logsumexp(z), z = logits / T.
//   partial: workgroup (c, row) takes vocabulary chunk c = [c·CH, min((c+1)·CH, V)) and writes
//            (max z, Σ exp(z − max), best key, its id) to partials[row, c]
//   finish:  workgroup row combines its C ≤ 256 partials: M = max, S = Σ s_c·exp(m_c − M),
//            lse = M + log S, token = the best key (lower id on ties); then the row writes of sample.wgsl
// Bindings: 0 params · 1–8 as sample_common.wgsl (prepended) · 9 partials vec4<u32>[R, C]
//           (bits of max z, of Σ exp, of the best key; its id — ids are kept as integers, never as f32 bits)
// Workgroup: 256 threads; partial: grid [C, R]; finish: grid [R].
struct Params { V: u32, R: u32, temperature: f32, C: u32, CH: u32, seed: u32, step: u32, E: u32, maxNew: u32, pad: i32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(9) var<storage, read_write> partials: array<vec4<u32>>;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x;
  let row = wid.y;
  if (row >= p.R || c >= p.C) { return; }
  if (row_done(lid, row)) { return; }
  let greedy = p.temperature <= 0.0;
  let invT = inv_temperature();
  let v0 = c * p.CH;
  let v1 = min(v0 + p.CH, p.V);
  var lmax = -3.0e38;
  for (var v = v0 + lid; v < v1; v += WG) { lmax = max(lmax, z(row, v, invT)); }
  let m = max_f(lid, lmax);
  var se = 0.0;
  var best = -3.0e38;
  var bi = 0xffffffffu;
  let sid = seq[row];
  for (var v = v0 + lid; v < v1; v += WG) {
    let zv = z(row, v, invT);
    se += exp(zv - m);
    let key = select(gumbel(zv, sid, v), zv, greedy);
    if (key > best) { best = key; bi = v; }
  }
  let s = sum_f(lid, se);
  let win = argmax2(lid, best, bi);
  if (lid == 0u) { partials[row * p.C + c] = vec4(bitcast<u32>(m), bitcast<u32>(s), win.x, win.y); }
}

@compute @workgroup_size(WG)
fn finish(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= p.R) { return; }
  let slotIndex = row * p.maxNew + p.step;
  if (pad_if_done(lid, row, slotIndex)) { return; }
  let invT = inv_temperature();
  var m = -3.0e38;
  var s = 0.0;
  var key = -3.0e38;
  var id = 0xffffffffu;
  if (lid < p.C) {
    let q = partials[row * p.C + lid];
    m = bitcast<f32>(q.x);
    s = bitcast<f32>(q.y);
    key = bitcast<f32>(q.z);
    id = q.w;
  }
  let M = max_f(lid, m);
  let S = sum_f(lid, s * exp(m - M));
  let tok = argmax(lid, key, id);
  if (lid == 0u) { emit(row, slotIndex, tok, z(row, tok, invT) - (M + log(S))); }
}
