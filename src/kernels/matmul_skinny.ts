// The skinny matmul (q4 weights, K % 32 = 0, 1…16 rows of x, meant for decode at G = 8–16; an
// experiment, off by default: MatmulOptions.gemvSkinny): WGSL made per (MR, NI, KQ), composed after
// weights_q4_wide.wgsl (16-byte code loads), matmul_epilogue.wgsl (store()) and a save_row() no-op.
// Shapes: x f32[M, K] (rows mOff…mOff + MR of this dispatch), codes [N, K/32] vec4<u32>, y f32[M, ldy].
//
// Why: the GEMVs at 8–16 rows of x (lane-group, row-lane) decode every weight once per lane that
// reads it and load x from L1 for every few multiply-adds: at 16 rows gate|up runs at ≈ 8 T
// multiply-adds/s on an H100 (a quarter of its f32 rate). Here, as in a tiled matmul, each weight is
// decoded once into workgroup memory and each thread computes an NI × MJ tile of y from it (NI rows
// of W × MJ = ⌈MR/4⌉ rows of x): per 4 k, NI + MJ workgroup-memory vec4 loads for NI·MJ·4
// multiply-adds — but the tile is only the MR rows of x (the tiled kernel's 64-row tiles waste 75% at 16).
//
// Workgroup: 256 threads = KS = 4 k-slices × 64 (thread lid: slice ks = lid / 64, t = lid % 64,
// tn = t % 16, tm = t / 16). The workgroup owns TN = 16·NI rows of W (n = n0 + i·16 + tn, i < NI) and
// every row of x (m = j·4 + tm, j < MJ). Slice ks walks 32-k steps s = ks, ks + KS, …: thread t < TN
// decodes row n0 + t's 32 weights (one vec4<u32> of codes, times the 64-block's scale) into
// ws[slice][kq][t] (kq: KQ vec4 along k, a whole step at KQ = 8, half a step at 4), threads stage x's
// MR × KQ vec4 into xs[slice][kq][m]; a barrier; each thread adds its tile's products; a barrier.
// The next step's codes and x are loaded after the first stage's barrier (one step ahead). At the
// end the KS slices' sums are added through workgroup memory (reusing ws) and stored by store()
// (bias, residual, LoRA epilogue). The CPU reference is src/reference/matmul.ts (matmulWeightRef).
// Workgroup memory: KS·KQ·(TN + 16) vec4 = 40 KiB at NI = 4 and KQ = 8, 24 at NI = 2; half at KQ = 4.

const KS = 4;

/** Rows of W a thread: 2 (32-row workgroups) or 4 (64-row workgroups). */
export const SKINNY_NI_OPTIONS = [2, 4] as const;

/** vec4 along k a stage of the skinny matmul: 8 (a whole 32-k step of codes) or 4 (half a step: half the workgroup memory, twice the barriers). */
export const SKINNY_KQ_OPTIONS = [4, 8] as const;

/** Bytes of workgroup memory the skinny matmul takes with NI rows of W a thread and KQ vec4 along k a stage (ws, xs, the codebook). */
export function skinnyBytes(NI: number, KQ: number): number {
  return KS * KQ * (16 * NI + 16) * 16 + 64;
}

/** Rows of W a workgroup of the skinny matmul owns. */
export function skinnyRows(NI: number): number {
  return 16 * NI;
}

const cache = new Map<string, string>();

/** the skinny matmul's WGSL for MR rows of x (1…16), NI rows of W a thread and KQ vec4 along k a stage */
export function skinnyBody(MR: number, NI: number, KQ = 8): string {
  if (!(MR >= 1 && MR <= 16)) throw new Error(`skinny matmul: 1…16 rows of x a dispatch, got ${MR}`);
  if (!(SKINNY_NI_OPTIONS as readonly number[]).includes(NI)) throw new Error(`skinny matmul: rows of W a thread must be one of ${SKINNY_NI_OPTIONS.join(', ')}, got ${NI}`);
  if (!(SKINNY_KQ_OPTIONS as readonly number[]).includes(KQ)) throw new Error(`skinny matmul: vec4 along k a stage must be one of ${SKINNY_KQ_OPTIONS.join(', ')}, got ${KQ}`);
  const key = `${MR}:${NI}:${KQ}`;
  let s = cache.get(key);
  if (s === undefined) cache.set(key, (s = make(MR, NI, KQ)));
  return s;
}

/** Statements loading 32-k step `s` (a WGSL name) into q, sc (the codes and scale thread t decodes) and xn0, xn1 (its two x vec4), where the step exists. */
function loadStep(s: string, indent: string): string[] {
  return [
    `if (${s} < steps) {`,
    `  if (dec) { q = w32(nd, ${s}, p.K); sc = w32_scale(nd, ${s}, p.K); }`,
    ...[0, 1].map((b) => `  if (xok${b}) { xn${b} = x[(m0 + xm${b}) * k4 + 8u * ${s} + xq${b}]; }`),
    '}',
  ].map((l) => indent + l);
}

function make(MR: number, NI: number, KQ: number): string {
  const TN = 16 * NI;
  const MJ = Math.ceil(MR / 4);
  const is = Array.from({ length: NI }, (_, i) => i);
  const js = Array.from({ length: MJ }, (_, j) => j);
  const L: string[] = [
    `// skinny matmul, unrolled for MR = ${MR} rows of x, NI = ${NI} rows of W a thread, ${4 * KQ} k a stage (src/kernels/matmul_skinny.ts)`,
    `const KS = ${KS}u;`,
    `const TN = ${TN}u;`,
    `var<workgroup> ws: array<vec4<f32>, ${KS * KQ * TN}>; // [slice][kq ${KQ}][TN]; the slices' sums at the end`,
    `var<workgroup> xs: array<vec4<f32>, ${KS * KQ * 16}>; // [slice][kq ${KQ}][m 16]`,
    '',
    '@compute @workgroup_size(256)',
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
    '  w_init(lid);',
    '  let ks = lid / 64u;',
    '  let t = lid % 64u;',
    '  let tn = t % 16u;',
    '  let tm = t / 16u;',
    '  let n0 = (wid.x + wid.y * nwg.x) * TN;',
    '  let steps = p.K / 32u;',
    '  let k4 = p.K / 4u;',
    '  let m0 = p.mOff;',
    '  let nd = min(n0 + min(t, TN - 1u), p.N - 1u); // the row thread t decodes (rows past N: the last, never stored)',
    '  let dec = t < TN;',
    '  // x loaded by thread t: entries e = t and t + 64 of a slice\'s 8 × 16 vec4 of a step (kq = e / 16, m = e % 16; zero past MR)',
    ...[0, 1].map((b) => `  let e${b} = t + ${64 * b}u; let xm${b} = e${b} % 16u; let xq${b} = e${b} / 16u; let xok${b} = xm${b} < ${MR}u;`),
    `  var ${is.flatMap((i) => js.map((j) => `a${i}_${j} = vec4<f32>(0.0)`)).join('; var ')}; // a<i>_<j>: y[m0 + j·4 + tm, n0 + i·16 + tn] by the 4 k of each vec4, added at the end`,
    '  workgroupBarrier();',
    '  // step ks, loaded ahead',
    '  var q = vec4<u32>(0u); var sc = 0.0;',
    '  var xn0 = vec4<f32>(0.0); var xn1 = vec4<f32>(0.0);',
    ...loadStep('ks', '  '),
    '  for (var s0 = 0u; s0 < steps; s0 += KS) {',
    '    let s = s0 + ks;',
    '    let sn = s + KS;',
    '    let cq = q; let csc = sc; let cx0 = xn0; let cx1 = xn1; // this step; the next one is loaded below',
  ];
  // each 32-k step in 8 / KQ stages of KQ vec4 along k: stage h decodes code words h·KQ/2 …, stages x's entries of kq in [h·KQ, (h+1)·KQ)
  for (let h = 0; h < 8 / KQ; h++) {
    L.push('    if (dec) {');
    for (let c = (h * KQ) / 2; c < ((h + 1) * KQ) / 2; c++) {
      const k0 = 2 * c - h * KQ;
      L.push(`      { let w = w_word(cq[${c}]); ws[(ks * ${KQ}u + ${k0}u) * TN + t] = w.a * csc; ws[(ks * ${KQ}u + ${k0 + 1}u) * TN + t] = w.b * csc; }`);
    }
    L.push('    }');
    L.push(KQ === 8 ? '    xs[ks * 128u + t] = cx0; xs[ks * 128u + 64u + t] = cx1; // entry e at kq·16 + m = e' : `    xs[ks * 64u + t] = cx${h}; // entry t: kq = ${4 * h} + t / 16, m = t % 16`);
    L.push('    workgroupBarrier();');
    if (h === 0) {
      L.push('    q = vec4<u32>(0u); sc = 0.0; xn0 = vec4<f32>(0.0); xn1 = vec4<f32>(0.0);');
      L.push(...loadStep('sn', '    '));
    }
    L.push(`    for (var kq = 0u; kq < ${KQ}u; kq++) {`);
    L.push(`      let wb = (ks * ${KQ}u + kq) * TN + tn; let xb = ks * ${16 * KQ}u + kq * 16u + tm;`);
    L.push(`      ${is.map((i) => `let w${i} = ws[wb + ${16 * i}u];`).join(' ')}`);
    L.push(`      ${js.map((j) => `let x${j} = xs[xb + ${4 * j}u];`).join(' ')}`);
    for (const i of is) L.push(`      ${js.map((j) => `a${i}_${j} = fma(w${i}, x${j}, a${i}_${j});`).join(' ')}`);
    L.push('    }');
    L.push('    workgroupBarrier();');
  }
  L.push('  }');
  // the KS slices' sums through ws: thread t of slice ks writes, for each i, its MJ (≤ 4) sums as one
  // vec4 at ws[(ks·NI + i)·64 + t]; then thread lid adds entry o = lid, lid + 256, … (i = o / 64, t = o % 64) over the slices
  const hsum = (a: string) => `${a}.x + ${a}.y + ${a}.z + ${a}.w`;
  L.push(`  ${is.map((i) => `ws[(ks * ${NI}u + ${i}u) * 64u + t] = vec4<f32>(${[0, 1, 2, 3].map((j) => (j < MJ ? hsum(`a${i}_${j}`) : '0.0')).join(', ')});`).join(' ')}`);
  L.push('  workgroupBarrier();');
  L.push(`  for (var o = lid; o < ${NI * 64}u; o += 256u) {`);
  L.push('    let i = o / 64u; let ot = o % 64u;');
  L.push('    var sum = vec4<f32>(0.0);');
  L.push(`    for (var k = 0u; k < KS; k++) { sum += ws[(k * ${NI}u + i) * 64u + ot]; }`);
  L.push('    let n = n0 + i * 16u + ot % 16u;');
  L.push('    if (n < p.N) {');
  for (const j of js) L.push(`      { let m = ${4 * j}u + ot / 16u; if (m < ${MR}u) { store(m, n, sum[${j}]); } }`);
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}
