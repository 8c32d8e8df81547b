// Sampling one token per row from logits, on the GPU, with Hugging Face's warper semantics:
//   z = logits / temperature; keep z ≥ τ where τ combines top-k (the k-th largest z; ties kept),
//   top-p (the smallest top set whose probability mass within the top-k set is ≥ top_p) and
//   min-p (p ≥ min_p · p_max); then the token is argmax over kept v of z_v + Gumbel(seed, seq, step, v),
//   an exact draw from the renormalized kept distribution. temperature 0 → greedy (argmax, lowest id on ties).
//   logp = z[token] − logsumexp(z) over the FULL vocabulary (as TRL computes completion log-probs).
// Finished rows (done = 1) emit `pad` with logp 0. A sampled EOS sets done. pos advances by one.
// Thresholds are found by bisection on the order-preserving u32 image of f32 (exact, 32 steps).
// Bindings: 0 params · 1 logits f32[R, V] · 2 seq u32[R] (RNG stream of each row) · 3 eos u32[E]
//           · 4 tokens i32[R] (next input) · 5 done u32[R] · 6 history i32[R, maxNew] · 7 logps f32[R, maxNew]
//           · 8 pos i32[R]
// Workgroup: 256 threads per row; each thread strides the vocabulary. Helpers, bindings 1–8 and the
// row writes come from sample_common.wgsl (prepended). Plain sampling and greedy (no top-k / top-p /
// min-p) take sample_fast.wgsl instead: the vocabulary split over many workgroups.
struct Params { V: u32, R: u32, temperature: f32, topK: u32, topP: f32, minP: f32, seed: u32, step: u32, E: u32, maxNew: u32, pad: i32 }

@group(0) @binding(0) var<uniform> p: Params;
/** Σ exp(z − zmax) over v with ord(z) ≥ cut */
fn mass_above(lid: u32, row: u32, invT: f32, zmax: f32, cut: u32) -> f32 {
  var s = 0.0;
  for (var v = lid; v < p.V; v += WG) {
    let zv = z(row, v, invT);
    if (ord(zv) >= cut) { s += exp(zv - zmax); }
  }
  return sum_f(lid, s);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  if (row >= p.R) { return; }
  let slotIndex = row * p.maxNew + p.step;
  if (pad_if_done(lid, row, slotIndex)) { return; }
  let greedy = p.temperature <= 0.0;
  let invT = inv_temperature();
  var lmax = -3.0e38;
  var lmin = 3.0e38;
  for (var v = lid; v < p.V; v += WG) {
    let zv = z(row, v, invT);
    lmax = max(lmax, zv);
    lmin = min(lmin, zv);
  }
  let zmax = max_f(lid, lmax);
  let zmin = -max_f(lid, -lmin);
  var se = 0.0;
  for (var v = lid; v < p.V; v += WG) { se += exp(z(row, v, invT) - zmax); }
  let lse = zmax + log(sum_f(lid, se));

  var tok = 0u;
  if (greedy) {
    var best = -3.0e38;
    var bi = 0xffffffffu;
    for (var v = lid; v < p.V; v += WG) {
      let zv = z(row, v, invT);
      if (zv > best) { best = zv; bi = v; }
    }
    tok = argmax(lid, best, bi);
  } else {
    var cut = 0u; // ord threshold: keep ord(z) ≥ cut
    if (p.topK > 0u && p.topK < p.V) {
      // largest c with count(ord(z) ≥ c) ≥ k
      var lo = ord(zmin);
      var hi = ord(zmax);
      while (lo < hi) {
        let mid = lo + (hi - lo + 1u) / 2u;
        var c = 0u;
        for (var v = lid; v < p.V; v += WG) { c += select(0u, 1u, ord(z(row, v, invT)) >= mid); }
        if (sum_u(lid, c) >= p.topK) { lo = mid; } else { hi = mid - 1u; }
      }
      cut = lo;
    }
    if (p.topP < 1.0) {
      let total = mass_above(lid, row, invT, zmax, cut);
      var lo = cut;
      var hi = ord(zmax);
      while (lo < hi) {
        let mid = lo + (hi - lo + 1u) / 2u;
        if (mass_above(lid, row, invT, zmax, mid) >= p.topP * total) { lo = mid; } else { hi = mid - 1u; }
      }
      cut = lo;
    }
    if (p.minP > 0.0) { cut = max(cut, ord(zmax + log(p.minP))); }
    var best = -3.0e38;
    var bi = 0xffffffffu;
    let sid = seq[row];
    for (var v = lid; v < p.V; v += WG) {
      let zv = z(row, v, invT);
      if (ord(zv) >= cut) {
        let g = gumbel(zv, sid, v);
        if (g > best) { best = g; bi = v; }
      }
    }
    tok = argmax(lid, best, bi);
  }
  if (lid == 0u) { emit(row, slotIndex, tok, z(row, tok, invT) - lse); }
}
