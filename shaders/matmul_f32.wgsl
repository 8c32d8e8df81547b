// General dense f32 matmul (LoRA pieces and backward):  C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C
//   op(A)[m, k] = a[offA + m·lda + k]  (TRANS_A false: A stored [M, lda])  or a[offA + k·lda + m]  (true: [K, lda])
//   op(B)[k, n] = b[offB + k·ldb + n]  (TRANS_B false: B stored [K, ldb])  or b[offB + n·ldb + k]  (true: [N, ldb])
//   C[m, n]     = c[offC + m·ldc + n];  C is only read when beta ≠ 0 (so it may hold NaN otherwise).
// Entry points: `main` writes C directly; split-K: `partial` writes alpha · (a K-chunk's product) to
// part[s, M, N] for chunk s = workgroup z, then `reduce` sums the chunks into C (no atomics).
// Bindings: 0 params · 1 a f32 · 2 b f32 · 3 c f32 (main, reduce) · 4 part f32[splits, M, N] (partial, reduce)
// Workgroup: 256 threads as WY × WX (WX override: 16 for square 64×64 tiles, 4 for tall 256×16
// tiles when N is small, 64 for wide 16×256 tiles when M is small), each thread a 4×4 block of C.
// K is walked BK (override) at a time with op(A) [BM m × BK k] and op(B) [BK k × BN n] staged
// k-major in workgroup memory, rows padded by PAD vec4 against bank conflicts; loads follow the
// stored-contiguous dimension, so both layouts read coalesced. Grid: [⌈N/BN⌉, ⌈M/BM⌉, splits].
// `reduce`: 256 threads, one element of C each, 2-D grid past 65535.
struct Params { M: u32, N: u32, K: u32, lda: u32, ldb: u32, ldc: u32, offA: u32, offB: u32, offC: u32, alpha: f32, beta: f32, kChunk: u32, splits: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>;

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WX: u32 = 16;
override BK: u32 = 16;
const WG = 256u;
override WY: u32 = WG / WX;
override BM: u32 = 4u * WY;
override BN: u32 = 4u * WX;
override PAD: u32 = 1; // vec4s of padding per staged row
override AS: u32 = BM / 4u + PAD; // row stride of As, in vec4
override BS: u32 = BN / 4u + PAD;

var<workgroup> As: array<vec4<f32>, BK * AS>; // [BK][BM/4 + PAD]
var<workgroup> Bs: array<vec4<f32>, BK * BS>; // [BK][BN/4 + PAD]

fn loadA(m: u32, k: u32, kEnd: u32) -> f32 {
  if (m >= p.M || k >= kEnd) { return 0.0; }
  if (TRANS_A) { return a[p.offA + k * p.lda + m]; }
  return a[p.offA + m * p.lda + k];
}

fn loadB(k: u32, n: u32, kEnd: u32) -> f32 {
  if (n >= p.N || k >= kEnd) { return 0.0; }
  if (TRANS_B) { return b[p.offB + n * p.ldb + k]; }
  return b[p.offB + k * p.ldb + n];
}

/** op(A)·op(B) over k in [k0, k1) for the tile at (m0, n0): this thread's 4×4 (rows 4ty.., cols 4tx..). */
fn tile(m0: u32, n0: u32, k0: u32, k1: u32, lid: u32) -> array<vec4<f32>, 4> {
  let tx = lid % WX;
  let ty = lid / WX;
  var acc: array<vec4<f32>, 4>;
  for (var kb = k0; kb < k1; kb += BK) {
    for (var r = 0u; r < (BM * BK + WG - 1u) / WG; r++) { // a constant trip count: unrolled
      let idx = lid + WG * r;
      if (idx >= BM * BK) { break; }
      var am = idx / BK;
      var ak = idx % BK;
      if (TRANS_A) { am = idx % BM; ak = idx / BM; }
      As[ak * AS + am / 4u][am % 4u] = loadA(m0 + am, kb + ak, k1);
    }
    for (var r = 0u; r < (BN * BK + WG - 1u) / WG; r++) {
      let idx = lid + WG * r;
      if (idx >= BN * BK) { break; }
      var bn = idx % BN;
      var bk = idx / BN;
      if (TRANS_B) { bn = idx / BK; bk = idx % BK; }
      Bs[bk * BS + bn / 4u][bn % 4u] = loadB(kb + bk, n0 + bn, k1);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let av = As[k * AS + ty];
      let bv = Bs[k * BS + tx];
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let acc = tile(m0, n0, 0u, p.K, lid);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * (lid / WX) + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * (lid % WX) + j;
      if (n >= p.N) { break; }
      let ci = p.offC + m * p.ldc + n;
      var v = p.alpha * acc[i][j];
      if (p.beta != 0.0) { v += p.beta * c[ci]; }
      c[ci] = v;
    }
  }
}

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let k0 = wid.z * p.kChunk;
  let acc = tile(m0, n0, k0, min(p.K, k0 + p.kChunk), lid);
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * (lid / WX) + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * (lid % WX) + j;
      if (n >= p.N) { break; }
      part[(wid.z * p.M + m) * p.N + n] = p.alpha * acc[i][j];
    }
  }
}

@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * 256u + lid;
  let mn = p.M * p.N;
  if (e >= mn) { return; }
  let m = e / p.N;
  let ci = p.offC + m * p.ldc + (e - m * p.N);
  var v = 0.0;
  for (var s = 0u; s < p.splits; s++) { v += part[s * mn + e]; }
  if (p.beta != 0.0) { v += p.beta * c[ci]; }
  c[ci] = v;
}
