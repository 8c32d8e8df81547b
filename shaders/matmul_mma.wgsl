// The decode matmul of q4 and bf16 weights on subgroup matrices (tensor cores; src/kernels/matmul_mma.ts):
//   y[m, nOff+n] (+)= Σ_k x[m, k] · W[n, k] + bias + LoRA    for up to 16 rows of x,
// as Y [16, 16·NT] = X [16, K] · Wᵀ [K, 16·NT] in 16 × 16 × 16 products of f16 inputs summed in f32.
// Composed after the f16/subgroup-matrix enables, the weight reader (weights_q4_wide.wgsl: 16-byte code
// loads, or weights_bf16.wgsl), the epilogue (matmul_epilogue.wgsl: bindings, store_y(), store_swiglu(),
// lora_term()), a save_row(), the X_NORM snippet, the q4 code-byte table snippet and the format's decode
// (mma_w_q4.wgsl, mma_w_bf16.wgsl: w_setup(), w_load(), put_w()).
// Workgroup: SGS subgroups of 32 (SGS = 8: 256 threads; 4: 128, RPT = 2 rows of x and of the results a
// thread; SGW must be 32: lane l of a subgroup decodes half a row of its 16 × KC W chunk). Subgroup s owns
// tile t = s % NT (16 rows of W) and walks every KS-th KC-weight chunk of K (q = s / NT: chunks q, q + KS,
// …; KS = SGS / NT), so a tile's K is split over KS subgroups whose partial 16 × 16 results are added at
// the end. 16 threads stage a row of x and hold a row of the results: thread lid rows lid / 16 + (WG / 16)·h
// (h < RPT), so every row's 16 threads are one half of a subgroup (the Σx² and LoRA shuffles). Per trip the workgroup stages the KS
// chunks of x (16 rows × KC, f32 → f16; rows ≥ M and chunks past K as zeros), each subgroup decodes its
// chunk of W to f16 (put_w), then takes KC / 16 products of 16 × 16 × 16. KC = 32 halves the x and W
// chunks' workgroup memory (twice the trips): the driver gives each SM 48 KiB of workgroup memory for
// all its workgroups (bench --occupancy, H100), so the kernel's size sets how many an SM runs at once.
// RS_ROUNDS: the partial results are added through rs one K-phase (1) or one subgroup (2) at a time,
// rs then holding NT · 256 or 256 floats instead of 8 · 256 (more barriers, less memory).
// A subgroup's next chunk of weights and x are loaded before the trip's products, so their latency
// overlaps them (PF = 2: two trips ahead; PF = 0: each trip loads its own at its start — fewer registers
// live across the products, no overlap).
// Y_SWIGLU (a gate|up weight [2I, K], NT even): tiles t < NT/2 are gate rows j0 + 16t…, tiles t ≥ NT/2
// the up rows I + j0 + 16(t − NT/2)…, and the store is h = silu(gate)·up (store_swiglu).
// X_NORM (a const of the snippet composed before this, with norm_g(): vec4 i of the norm weight g):
// x is the residual stream and the RMSNorm is applied as it is staged (each thread first sums Σx² of
// its row's share, 16 threads a row): no norm kernel before it (the decode q|k|v: MatmulKernel.mmaNormWorkgroups).
// SQ_OUT (o and down, which add into the residual stream): each 16-column tile's Σy² of each stored row
// (after bias, residual and LoRA) also goes to y[sqOff + row · ldy/16 + tile]. SQ_IN (with X_NORM: the
// next q|k|v or gate|up): Σx² of a row is the sum of those K/16 tile sums, read from x[sqOff/4 …]
// (vec4s), not from the row itself — one 6 KiB read a workgroup where the row is 96 KiB at 16 rows.
// LORA_MMA (LoRA rank 16, slices on 16-row boundaries, NT ≤ 4): the LoRA term is one more 16 × 16 × 16
// product a tile, U [16 m, 16 r] · Bᵀ [16 r, 16 n] with u·scale (· the norm's rsqrt for LORA_UNSCALED)
// and B rounded to f16, taken by the tile's first subgroup after the walk; each thread loads its share
// of U and B before the walk, so the epilogue waits on no load (else lora_term(), 32 loads a thread).
// Rows of W past N are read as row N − 1 and never stored.
/** the first row of W of a workgroup's tile i (Y_SWIGLU: gate tiles, then their up tiles at half + …) */
fn tile_row(wg: u32, i: u32, half: u32, tp: u32) -> u32 {
  if (Y_SWIGLU) { return select(0u, half, i >= tp) + (wg * tp + i % tp) * 16u; }
  return (wg * NT + i) * 16u;
}

/** lanes l … l + 3 of a 4-aligned quad's v, in lane l (every lane takes part; the others' results unused) */
fn gather4(v: f32) -> vec4<f32> {
  return vec4(v, subgroupShuffleXor(v, 1u), subgroupShuffleXor(v, 2u), subgroupShuffleXor(v, 3u));
}

/** vec4 xc of 64-weight span c of the row at xrow (vec4 index), zero past the rows of x (xok false) and past K (`spans` of them) */
fn x_chunk(xrow: u32, c: u32, spans: u32, xc: u32, xok: bool) -> vec4<f32> {
  return select(vec4(0.0), x[xrow + min(c, spans - 1u) * 16u + xc], xok && c < spans);
}

override NT: u32 = 1;                 // 16-row tiles of W a workgroup: 1, 2, 4 or 8
override Y_SWIGLU: bool = false;
override LORA_MMA: bool = false;
override PF: u32 = 1;                 // trips of W and x loaded ahead: 0, 1, or 2 (more loads in flight, more registers)
override SQ_IN: bool = false;
override SQ_OUT: bool = false;
override MMA_DEBUG: u32 = 0;          // benchmarks only: 1 skips the products, 2 the decode of W, 3 both, 4 stores W's codes undecoded (its loads kept), 5 the q4 decode without the scale, 6 the q4 decode's stores of the code bits (no values)
override MMA_SERIAL: bool = false;     // a barrier between the trip's products and between the decode's words: loads cannot be hoisted past them (fewer registers live; bench --mma-waves)
const SGW = 32u;                      // subgroup width
override SGS: u32 = 8u;               // subgroups a workgroup: 8 (256 threads) or 4 (128)
override WG: u32 = SGS * SGW;         // threads a workgroup
override RPT: u32 = 8u / SGS;         // rows of x (and of the results) a thread: 1 or 2
override KS: u32 = SGS / NT;          // subgroups splitting a tile's chunks
override KC: u32 = 64u;               // weights a chunk: 64 (one scale block of the q4 layout) or 32 (half of one; NT ≤ SGS / 2)
override KC4: u32 = KC / 4u;          // … in vec4
override NV: u32 = KS * KC / 64u;     // 64-weight spans of x a trip: the vec4s of x each thread stages
override STR: u32 = KC + 8u;          // row stride of the staged x and W chunks in f16 (KC + 8: rows start 16 bytes apart in the banks)
override STR4: u32 = STR / 4u;        // … in vec4<f16>
override RS_ROUNDS: u32 = 0u;         // partial results added all at once (0: rs [SGS][256]), a K-phase a round (1: rs [NT][256]) or a subgroup a round (2: rs [256])

override X_VEC4: u32 = 2304;               // vec4<f16> of xs: KS · 16 · STR / 4
override CHUNK_VEC4: u32 = 2304;           // vec4<f16> of ws: SGS · 16 · STR / 4 (tests build pipelines with less: Dawn's null backend allows 16 KiB)
override RESULTS_F32: u32 = 2048;          // floats of rs: SGS · 256, NT · 256 (RS_ROUNDS 1) or 256 (2)
override LORA_UNSCALED: bool = false;      // with X_NORM, the LoRA u was made from x∘g without the norm's rsqrt (LoraEpilogue.uUnscaled): its term is scaled here
var<workgroup> xs: array<vec4<f16>, X_VEC4>;     // [KS][16 rows of x][STR / 4]: chunk q of the trip
var<workgroup> ws: array<vec4<f16>, CHUNK_VEC4>; // [SGS subgroups][16 rows of W][STR / 4]: each subgroup's chunk of W
var<workgroup> rs: array<f32, RESULTS_F32>;      // [SGS subgroups][16 m][16 n]: the partial results (RS_ROUNDS: [NT] or one of them)
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.x + wid.y * nwg.x;
  let s = lid / SGW;
  let lane = lid % SGW;
  let t = s % NT;
  let q = s / NT;
  let half = p.N / 2u;
  let tp = max(NT / 2u, 1u); // gate tiles a workgroup (Y_SWIGLU)
  // the first row of W of this subgroup's tile
  let n0 = tile_row(wg, t, half, tp);
  let row = min(n0 + lane / 2u, p.N - 1u); // the row this lane decodes
  let chunks = p.K / KC;
  let spans = p.K / 64u; // 64-weight spans of x
  let trips = (chunks + KS - 1u) / KS;
  let k4 = p.K / 4u;
  let cbh = w_setup(lid);
  // this lane's first weights: chunk q, half lane & 1 (KC / 2 weights)
  var raw = w_load(row, min(q, chunks - 1u), lane & 1u, p.K);
  var raw2 = raw; // PF = 2: the trip after
  if (PF == 2u) { raw2 = w_load(row, min(q + KS, chunks - 1u), lane & 1u, p.K); }
  var acc = subgroup_matrix_result<f32, 16, 16>();
  let xc = lid % 16u;       // the vec4 of a chunk row this thread stages, the result column n it holds
  // row h of this thread (h < RPT): xm[h] = lid / 16 + (WG / 16)·h
  var xm: array<u32, 2>;
  var xrow: array<u32, 2>;
  for (var h = 0u; h < RPT; h++) {
    xm[h] = lid / 16u + (WG / 16u) * h;
    xrow[h] = (p.mOff + min(xm[h], p.M - 1u)) * k4;
  }
  // LORA_MMA: each tile's u[row xm, its slice's r = xc] and B[its row xm, r = xc], loaded now ([h · NT + i])
  var lu: array<f32, 4>;
  var lb: array<f32, 4>;
  if (LORA && LORA_MMA) {
    for (var h = 0u; h < RPT; h++) {
      for (var i = 0u; i < NT; i++) {
        let ni = tile_row(wg, i, half, tp);
        lu[h * NT + i] = loraU[(p.mOff + min(xm[h], p.M - 1u)) * p.ldu + lora_slice(p.nOff + ni) * 16u + xc];
        lb[h * NT + i] = loraB[(p.nOff + min(ni + xm[h], p.N - 1u)) * 16u + xc];
      }
    }
  }
  // this thread's x of the first trip (vec4 xc of its rows of spans 0 … NV − 1: [h · NV + i]), zero past M and K
  var xv: array<vec4<f32>, 8>;
  var xv2: array<vec4<f32>, 8>; // PF = 2: the trip after
  for (var h = 0u; h < RPT; h++) {
    for (var i = 0u; i < NV; i++) { xv[h * NV + i] = x_chunk(xrow[h], i, spans, xc, xm[h] < p.M); }
    if (PF == 2u) { for (var i = 0u; i < NV; i++) { xv2[h * NV + i] = x_chunk(xrow[h], NV + i, spans, xc, xm[h] < p.M); } }
  }
  // X_NORM: rsqrt(mean x² + eps) of each row, summed over its 16 threads (lanes 16·(xm & 1) … + 15 of one subgroup)
  var rsq = array<f32, 2>(1.0, 1.0);
  if (X_NORM) {
    for (var h = 0u; h < RPT; h++) {
      var ss = 0.0;
      if (SQ_IN) {
        let t4 = p.K / 64u; // vec4s of tile sums a row
        let at = p.sqOff / 4u + (p.mOff + min(xm[h], p.M - 1u)) * t4;
        for (var v = xc; v < t4; v += 16u) { ss += dot(x[at + v], vec4(1.0)); }
      } else {
        for (var v = xc; v < k4; v += 16u) { let t = x[xrow[h] + v]; ss += dot(t, t); }
      }
      ss += subgroupShuffleXor(ss, 8u);
      ss += subgroupShuffleXor(ss, 4u);
      ss += subgroupShuffleXor(ss, 2u);
      ss += subgroupShuffleXor(ss, 1u);
      rsq[h] = inverseSqrt(ss / f32(p.K) + p.eps);
    }
  }
  let wat = (s * 16u + lane / 2u) * STR4 + (lane & 1u) * (KC / 8u); // this lane's KC / 8 vec4<f16> of W in ws
  workgroupBarrier(); // w_setup's tables
  for (var it = 0u; it < trips; it++) {
    if (PF == 0u) { // this trip's weights and x, loaded now (the ones before the loop were trip 0's)
      if (it > 0u) {
        raw = w_load(row, min(q + it * KS, chunks - 1u), lane & 1u, p.K);
        for (var h = 0u; h < RPT; h++) { for (var i = 0u; i < NV; i++) { xv[h * NV + i] = x_chunk(xrow[h], it * NV + i, spans, xc, xm[h] < p.M); } }
      }
    }
    for (var h = 0u; h < RPT; h++) {
      for (var i = 0u; i < NV; i++) {
        var xn = xv[h * NV + i];
        if (X_NORM) { xn *= rsq[h] * norm_g(min(it * NV + i, spans - 1u) * 16u + xc); }
        let cv = i * 16u + xc; // its vec4 in the trip's KS · KC weights: chunk cv / KC4, vec4 cv % KC4 of it
        xs[((cv / KC4) * 16u + xm[h]) * STR4 + cv % KC4] = vec4<f16>(xn);
      }
    }
    if (MMA_DEBUG == 4u) { ws[wat] = bitcast<vec4<f16>>(raw_bits(raw)); } else if (MMA_DEBUG != 2u && MMA_DEBUG != 3u) { put_w(wat, raw, cbh, (lane & 1u) == 1u, lane >= 16u); }
    // the next trip's weights and x (PF = 2: the one after), in flight during this trip's products
    if (PF == 2u) {
      raw = raw2;
      raw2 = w_load(row, min(q + (it + 2u) * KS, chunks - 1u), lane & 1u, p.K);
      for (var h = 0u; h < RPT; h++) { for (var i = 0u; i < NV; i++) { xv[h * NV + i] = xv2[h * NV + i]; xv2[h * NV + i] = x_chunk(xrow[h], (it + 2u) * NV + i, spans, xc, xm[h] < p.M); } }
    } else if (PF == 1u) {
      raw = w_load(row, min(q + (it + 1u) * KS, chunks - 1u), lane & 1u, p.K);
      for (var h = 0u; h < RPT; h++) { for (var i = 0u; i < NV; i++) { xv[h * NV + i] = x_chunk(xrow[h], (it + 1u) * NV + i, spans, xc, xm[h] < p.M); } }
    }
    workgroupBarrier();
    if (MMA_DEBUG != 1u && MMA_DEBUG != 3u) {
      for (var kk = 0u; kk < KC / 16u; kk++) {
        if (MMA_SERIAL && kk > 0u) { workgroupBarrier(); }
        // offsets and strides count the arrays' vec4<f16>
        let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&xs, q * 16u * STR4 + kk * 4u, STR4);
        let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, s * 16u * STR4 + kk * 4u, STR4);
        acc = subgroupMatrixMultiplyAccumulate(a, b, acc);
      }
    }
    workgroupBarrier();
  }
  if (LORA && LORA_MMA) {
    // tile i's U (u · scale, rows xm) and B (rows xm) as f16 into ws at tiles i and NT + i, four values a store
    for (var h = 0u; h < RPT; h++) {
      let sc = p.loraScale * select(1.0, rsq[h], LORA_UNSCALED);
      for (var i = 0u; i < NT; i++) {
        let u4 = gather4(lu[h * NT + i] * sc);
        let b4 = gather4(lb[h * NT + i]);
        if ((xc & 3u) == 0u) {
          ws[(i * 16u + xm[h]) * STR4 + xc / 4u] = vec4<f16>(u4);
          ws[((NT + i) * 16u + xm[h]) * STR4 + xc / 4u] = vec4<f16>(b4);
        }
      }
    }
    workgroupBarrier();
    if (s < NT) {
      let a = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&ws, s * 16u * STR4, STR4);
      let b = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&ws, (NT + s) * 16u * STR4, STR4);
      acc = subgroupMatrixMultiplyAccumulate(a, b, acc);
    }
  }
  // tile i's result at (m, n) = (xm[h], xc) of this thread (16m + n = lid + WG·h): the KS partial results
  // added, K-phase 0 first ([h · NT + i])
  var part: array<f32, 8>;
  if (RS_ROUNDS == 0u) {
    subgroupMatrixStore<row_major>(&rs, s * 256u, acc, 16u);
    workgroupBarrier();
    for (var h = 0u; h < RPT; h++) {
      for (var i = 0u; i < NT; i++) {
        for (var k = 0u; k < KS; k++) { part[h * NT + i] += rs[(k * NT + i) * 256u + lid + WG * h]; }
      }
    }
  } else {
    for (var k = 0u; k < KS; k++) {
      if (RS_ROUNDS == 1u) { // every tile's K-phase k at once
        if (q == k) { subgroupMatrixStore<row_major>(&rs, t * 256u, acc, 16u); }
        workgroupBarrier();
        for (var h = 0u; h < RPT; h++) { for (var i = 0u; i < NT; i++) { part[h * NT + i] += rs[i * 256u + lid + WG * h]; } }
        workgroupBarrier();
      } else { // one subgroup's a round
        for (var i = 0u; i < NT; i++) {
          if (s == k * NT + i) { subgroupMatrixStore<row_major>(&rs, 0u, acc, 16u); }
          workgroupBarrier();
          for (var h = 0u; h < RPT; h++) { part[h * NT + i] += rs[lid + WG * h]; }
          workgroupBarrier();
        }
      }
    }
  }
  let n = xc;
  for (var h = 0u; h < RPT; h++) {
    let m = xm[h];
    let lsc = select(1.0, rsq[h], LORA_UNSCALED); // the LoRA term's scale
    if (Y_SWIGLU) {
      for (var i = 0u; i < tp && m < p.M; i++) {
        var g = part[h * NT + i];
        var u = part[h * NT + i + tp];
        let jj = (wg * tp + i) * 16u + n;
        if (jj < half) {
          if (LORA && !LORA_MMA) { g += lora_term(m, jj) * lsc; u += lora_term(m, jj + half) * lsc; }
          store_swiglu(m, jj, half, g, u);
        }
      }
      continue;
    }
    for (var i = 0u; i < NT; i++) {
      var v = part[h * NT + i];
      let nn = (wg * NT + i) * 16u + n;
      let ok = m < p.M && nn < p.N;
      if (ok) {
        if (LORA && !LORA_MMA) { v += lora_term(m, nn) * lsc; }
        store_y(m, nn, v);
      }
      if (SQ_OUT) {
        // Σy² of the tile's 16 columns of row m (its 16 threads: one half of a subgroup), y as stored
        var sq = 0.0;
        if (ok) { let yv = y[(p.mOff + m) * p.ldy + p.nOff + nn]; sq = yv * yv; }
        sq += subgroupShuffleXor(sq, 8u);
        sq += subgroupShuffleXor(sq, 4u);
        sq += subgroupShuffleXor(sq, 2u);
        sq += subgroupShuffleXor(sq, 1u);
        if (n == 0u && ok) { y[p.sqOff + (p.mOff + m) * (p.ldy / 16u) + (p.nOff + nn) / 16u] = sq; }
      }
    }
  }
}
