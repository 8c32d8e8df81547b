// The decode GEMV bodies with the MR × NR accumulators unrolled into scalar variables: WGSL text
// made for each (MR, NR), composed like shaders/matmul_gemv.wgsl (8-weight steps, any format) and
// shaders/matmul_gemv_wide.wgsl (32 q4 weights per step), which stay the readable form of the same
// loop. Those index one array<f32, 64> of accumulators in loops whose trip counts are override
// constants — fine where the shader compiler unrolls them, slow where it keeps the array in memory.
// Here every accumulator is its own `var`, so it cannot leave registers. Rows of a lane group past
// N read the group's last row (never stored), so the loads need no branch.
// Same arithmetic as the loop forms. Only these bodies can apply the RMSNorm of their x (gemvBody's
// `norm`: the decode q|k|v and gate|up GEMVs read the residual stream).
// With a fixed subgroup width `sg` (the adapter's min = max; 0: unknown) the row sums are a
// reduce-scatter written out here (rowSum): MR values over a row's lanes in MR − 1 + log2(sg / MR)
// shuffles instead of MR · log2(sg) (16 instead of 80 at MR = 16), ending with row m's sum in lane m.
// `loraFold`: the LoRA term (LORA) is summed by the lanes instead of the storing lane's epilogue —
// lane l takes rank slots r ≡ l (mod LANES), loads u and B before the codebook barrier (their latency
// overlaps it) and adds u[m, r]·B[n, r]·scale into its accumulators, so the row sums add it. With
// `norm` the sums are scaled by the norm's rsqrt at the end, so u must come without it (XNorm.unscaled:
// u' = (x∘g)·Aᵀ, and rsqrt·(x∘g·Wᵀ + u'·Bᵀ) = xn·Wᵀ + u·Bᵀ). The epilogue's store() did it at the end of
// every workgroup: 2R loads a storing lane, one memory latency after the row sums (H100, G = 16: the
// gate|up GEMV's LoRA term cost 0.62 ms a step that way, 0.16–0.20 summed by the lanes).

import { reduceSumSquares, sumSquaresByWorkgroup } from './gemv_norm';

/** What a GEMV body is made for, besides its MR × NR accumulators. */
export interface BodyOpts {
  /** x is the raw residual stream; the GEMV applies the RMSNorm (matmul_epilogue.wgsl's normw) */
  norm?: boolean;
  /** with `norm`: x∘g only, without the rsqrt (no Σx²): a LoRA u for a GEMV that folds it (XNorm.unscaled) */
  unscaled?: boolean;
  /** lane steps per loop trip (8- and 4-weight bodies), their loads issued together */
  steps?: number;
  /** the subgroup width every subgroup has (rowSum's reduce-scatter); 0: reduce_rows() */
  sg?: number;
  /** the LoRA term summed by the lanes (above) instead of store()'s epilogue; with `norm`, for a u without the norm's rsqrt */
  loraFold?: boolean;
  /**
   * with `norm` (not `unscaled`): Σx² of each row of x summed once by the whole workgroup before the
   * walk instead of by every lane group in its walk — MR multiply-adds per x vec4 a lane
   * group fewer (+50% of the GEMV's own at NR = 2), one round of x loads and a tree through `red` more
   */
  prologue?: boolean;
  /**
   * NR = 2, a gate|up weight [2I, K]: a lane group's rows are the pair j, j + I (gate and up of unit
   * j = n0 / 2) and its storing lanes write h = silu(gate)·up (matmul_epilogue.wgsl store_swiglu) — no
   * SwiGLU kernel after it. Needs the LoRA term summed by the lanes (loraFold) where there is one.
   */
  swiglu?: boolean;
  /**
   * K / 4 (a literal): the MR rows of x staged in workgroup memory before the walk (gemvStagedBody,
   * q4 with K % 32 = 0): with `norm` they are staged as x∘g and their Σx² summed on the way
   */
  staged?: number;
  /**
   * shader-f16 only, 8-weight steps, 1 a trip, no fused norm: x is stored as f16 ([M, K] f16 = K / 8
   * vec4<f32> a row: one 16-byte load of 8 values a lane step, half the f32 body's x traffic) and the
   * products are summed in f16 — each lane into vec4<f16> sums over its walk (two packed f16
   * multiply-adds per 4 weights; the f32 body's dot() is four instructions), added into its f32 sums
   * once after the walk (≤ 16 steps: GEMV_WALK). Weights are decoded in f32 (codebook · scale) and
   * packed to f16. Needs `enable f16;` first in the module (F16_ENABLE). H100, 16 rows of x, streamed
   * (2026-12-07): q|k|v 13.4 → 9.3 µs, o 13.1 → 8.0, gate|up 55.8 → 46.3, down 32.9 → 30.0; the same walk
   * on f32 x converted as it is read was slower (gate|up 69–73, down 48–55: dropped).
   */
  x16?: boolean;
}

/** Rows of x whose Σx² the workgroup's 256 threads reduce a round through `red` (the prologue, the staged GEMV's norm). */
const SS_ROWS = 8;

/** Floats of `red` that Σx² by the workgroup takes for MR rows of x (reduceSumSquares: 256 a row, SS_ROWS rows a round). */
export function sumSquaresRedFloats(MR: number): number {
  return Math.min(MR, SS_ROWS) * 256;
}

/** The directive a module with f16 bodies starts with. */
export const F16_ENABLE = 'enable f16;';

const cache = new Map<string, string>();

/**
 * x read by the lane step: `xa`/`xb`, the `count` (2, or 1 for the 4-weight step: `xa` only) vec4 at
 * vec4 index `idx` (a WGSL expression) of row `m` of x; with `norm`, raw (the RMSNorm weight g is
 * on the weights: normWeights) and, with `ss`, their squares summed into ss<m>. `mask` (a WGSL f32 expression,
 * 0 or 1) zeroes a step past the row's end (norm: so it adds no Σx²).
 */
function xLoads(m: number, idx: string, norm: boolean, mask = '', count: 1 | 2 = 2, ss = true): string {
  const vs = ['a', 'b'].slice(0, count);
  const at = (k: number) => (k ? `${idx} + ${k}u` : idx);
  if (!norm) return vs.map((v, k) => `let x${v} = xv(m0 + ${m}u, ${at(k)}, k4);`).join(' ');
  const f = mask ? ` * ${mask}` : '';
  return [
    ...vs.map((v, k) => `let x${v} = x[(m0 + ${m}u) * k4 + ${at(k)}]${f};`),
    ...(ss ? [`ss${m} += ${vs.map((v) => `dot(x${v}, x${v})`).join(' + ')};`] : []),
  ].join(' ');
}

/**
 * With `norm`: the lane step's weights times the RMSNorm weight g (x∘g·w = x·(g∘w)): one g load and
 * NR multiplies a step, where g on x took MR (the x reads, not the weights, bound the GEMV at 8–16
 * rows). `w` names the step's weights (vec4 for the 4-weight step, W8 else) of the NR rows, made from
 * `raw` (their unscaled value); `idx` the vec4 index of their first 4 columns.
 */
function normWeights(NR: number, name: (i: number) => string, raw: (i: number) => string, idx: string, tag: string, width: 4 | 8): string[] {
  if (width === 4) return [`    let g${tag} = normw[${idx}];`, ...Array.from({ length: NR }, (_, i) => `    let ${name(i)} = ${raw(i)} * g${tag};`)];
  return [
    `    let ga${tag} = normw[${idx}]; let gb${tag} = normw[${idx} + 1u];`,
    ...Array.from({ length: NR }, (_, i) => `    let ${name(i)} = W8(${raw(i)}.a * ga${tag}, ${raw(i)}.b * gb${tag});`),
  ];
}

/**
 * The body of the 8-weight GEMV (matmul_gemv.wgsl) for MR rows of x and NR output rows per lane
 * group. `norm`: x is the raw residual stream and the GEMV applies the RMSNorm itself — g is
 * multiplied into the weights, Σx² of each row summed on the way (a lane group reads all of every row of x), and
 * each result scaled by rsqrt(mean + eps) before the epilogue: xn·Wᵀ = rsqrt(…) · (x∘g)·Wᵀ.
 */
export function gemvBody(MR: number, NR: number, o: BodyOpts = {}): string {
  const U = o.steps ?? 1;
  if (o.x16) {
    if (o.norm || U !== 1) throw new Error(`GEMV body: the f16 body (x16) takes no fused norm and 1 step a trip; got${o.norm ? ' norm,' : ''} ${U} steps`);
    return memo(`8h:${MR}:${NR}:${key(o)}`, () => shell('// 8 weights per lane step, f16 x and products', MR, NR, 'p.K / 8u', laneStepsF16(MR, NR), o));
  }
  return memo(`8:${MR}:${NR}:${key(o)}`, () => shell(`// 8 weights per lane step${U > 1 ? `, ${U} steps per trip` : ''}`, MR, NR, 'p.K / 8u', laneSteps(MR, NR, !!o.norm, U, 8, walkSums(o)), o));
}

/**
 * The GEMV body with 4 weights per lane step (q4 and bf16: w4() of weights_{q4,bf16}.wgsl): lane l takes vec4
 * columns l, l + LANES, … of x, so a warp's x loads are 512 contiguous bytes — the 8-weight step's
 * lane reads two vec4 32 bytes apart, each load instruction spanning 1 KB (twice the cache
 * wavefronts for the same bytes), which made x the bottleneck at 8–16 rows. Same arithmetic, U and
 * masks as gemvBody.
 */
export function gemvBody4(MR: number, NR: number, o: BodyOpts = {}): string {
  const U = o.steps ?? 1;
  if (o.x16) throw new Error('GEMV body: the f16 body (x16) has 8-weight steps (gemvBody)');
  return memo(`4:${MR}:${NR}:${key(o)}`, () => shell(`// 4 weights per lane step${U > 1 ? `, ${U} steps per trip` : ''}`, MR, NR, 'p.K / 4u', laneSteps(MR, NR, !!o.norm, U, 4, walkSums(o)), o));
}

/**
 * One loop trip of `width`-weight lane steps (8: w8 and two vec4 of x; 4: w4 and one): U steps, all
 * their weight loads first (U loads in flight per row); a step past the row's end reloads step j (a
 * valid address) and is zeroed by its mask f<u> — on the sums without norm (one multiply per row
 * instead of one per x vec4), on x with it (so it adds no Σx²).
 */
function laneSteps(MR: number, NR: number, norm: boolean, U: number, width: 4 | 8, ss: boolean): string[] {
  const L: string[] = [];
  for (let u = 0; u < U; u++) {
    if (u === 0) L.push('    let j0 = j;');
    else L.push(`    let ok${u} = j + ${u}u * LANES < groups; let j${u} = select(j, j + ${u}u * LANES, ok${u}); let f${u} = select(0.0, 1.0, ok${u});`);
    const load = (i: number) => `${width === 4 ? 'w4' : 'w8'}(wr${i}, j${u}, p.K)`;
    if (!norm) for (let i = 0; i < NR; i++) L.push(`    let w${i}_${u} = ${load(i)};`);
    else {
      for (let i = 0; i < NR; i++) L.push(`    let r${i}_${u} = ${load(i)};`);
      L.push(...normWeights(NR, (i) => `w${i}_${u}`, (i) => `r${i}_${u}`, width === 4 ? `j${u}` : `2u * j${u}`, `${u}`, width));
    }
  }
  for (let u = 0; u < U; u++) {
    for (let m = 0; m < MR; m++) {
      const f = u === 0 ? '' : `f${u}`; // step 0 of a trip is always inside the row
      L.push(`    { ${width === 4 ? xLoads(m, `j${u}`, norm, norm ? f : '', 1, ss) : xLoads(m, `2u * j${u}`, norm, norm ? f : '', 2, ss)}`);
      for (let i = 0; i < NR; i++) {
        const d = width === 4 ? `dot(xa, w${i}_${u})` : `(dot(xa, w${i}_${u}.a) + dot(xb, w${i}_${u}.b))`;
        L.push(`      a${i}_${m} += ${norm || !f ? '' : `${f} * `}${d};`);
      }
      L.push('    }');
    }
  }
  return L;
}

/**
 * One lane step of the f16 body (BodyOpts.x16): w8() of the NR rows packed to f16, and one 16-byte
 * load of 8 f16 x values a row of x (vec4<f32> j of a row holds x[8j … 8j + 7]); the products go into
 * h<i>_<m> (vec4<f16>), added into a<i>_<m> after the walk (shell).
 */
function laneStepsF16(MR: number, NR: number): string[] {
  const L: string[] = [];
  for (let i = 0; i < NR; i++) L.push(`    let wf${i} = w8(wr${i}, j, p.K); let wa${i} = vec4<f16>(wf${i}.a); let wb${i} = vec4<f16>(wf${i}.b);`);
  for (let m = 0; m < MR; m++) {
    L.push(`    { let xq = x[(m0 + ${m}u) * (p.K / 8u) + j]; let xa = bitcast<vec4<f16>>(xq.xy); let xb = bitcast<vec4<f16>>(xq.zw);`);
    for (let i = 0; i < NR; i++) L.push(`      h${i}_${m} = fma(xb, wb${i}, fma(xa, wa${i}, h${i}_${m}));`);
    L.push('    }');
  }
  return L;
}

/** the body of the wide q4 GEMV (matmul_gemv_wide.wgsl) for MR rows of x and NR output rows per lane group; `norm` as gemvBody's */
export function gemvWideBody(MR: number, NR: number, o: BodyOpts = {}): string {
  const norm = !!o.norm;
  return memo(`32:${MR}:${NR}:${key({ ...o, steps: 1 })}`, () => {
    const L: string[] = stepLoads32(NR);
    for (let c = 0; c < 4; c++) {
      if (!norm) for (let i = 0; i < NR; i++) L.push(`    let w${i}_${c} = w_word(q${i}[${c}]);`);
      else {
        for (let i = 0; i < NR; i++) L.push(`    let r${i}_${c} = w_word(q${i}[${c}]);`);
        L.push(...normWeights(NR, (i) => `w${i}_${c}`, (i) => `r${i}_${c}`, `8u * j + ${2 * c}u`, `${c}`, 8));
      }
      for (let m = 0; m < MR; m++) {
        L.push(`    { ${xLoads(m, `8u * j + ${2 * c}u`, norm, '', 2, walkSums(o))}`);
        for (let i = 0; i < NR; i++) L.push(`      a${i}_${m} += (dot(xa, w${i}_${c}.a) + dot(xb, w${i}_${c}.b)) * s${i};`);
        L.push('    }');
      }
    }
    return shell('// 32 q4 weights (one vec4<u32> of codes) per lane step', MR, NR, 'p.K / 32u', L, { ...o, steps: 1 });
  });
}

/**
 * The staged GEMV body (q4, K % 32 = 0, BodyOpts.staged = K / 4): the workgroup first copies its MR
 * rows of x into workgroup memory (`xs`, with `norm` as x∘g and their Σx² summed on the way), then
 * each lane walks 32-weight steps (one 16-byte code load and one scale a row, as the wide body) and
 * reads its 8 x vec4 a step from `xs` instead of from memory. Why (decode at M = 1): the lane-group
 * bodies load x from L1 for every row group and multiply every weight by its scale (and with the
 * norm by g); here x costs one conflict-free workgroup-memory read per 4 weights shared by the NR rows,
 * the scale one multiply per 32 weights and g nothing. vec4 v of a row sits at v ^ ((v >> 3) & 7): the
 * 8 vec4 of step j are permuted by j & 7, so 8 lanes on neighbouring steps read 8 different banks.
 * The rows must fit workgroup memory (MR · K · 4 bytes besides the row reduction's 8 KiB).
 * Measured (H100, streamed at one row of x): gate|up 17.0 → 15.5 µs at 16 lanes a row — the engine's
 * default there (MatmulKernel.gemvStagedRows) — q|k|v a tie, o and down slower (down's K = 8960 row
 * of x is 35 KiB to stage for every workgroup).
 */
export function gemvStagedBody(MR: number, NR: number, o: BodyOpts & { staged: number }): string {
  const S = o.staged;
  if (!(S > 0 && S % 8 === 0)) throw new Error(`staged GEMV body: K / 4 must be a positive multiple of 8 (K % 32 = 0), got ${S}`);
  return memo(`st:${MR}:${NR}:${key({ ...o, steps: 1 })}`, () => {
    const L: string[] = ['    let jx = j & 7u; // the swizzle of step j\'s 8 x vec4', ...stepLoads32(NR)];
    L.push(`    var ${Array.from({ length: NR }, (_, i) => Array.from({ length: MR }, (_, m) => `t${i}_${m} = 0.0`)).flat().join('; var ')};`);
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < NR; i++) L.push(`    let w${i}_${c} = w_word(q${i}[${c}]);`);
      for (let m = 0; m < MR; m++) {
        const at = (v: number) => `xs[${m * S}u + 8u * j + (${v}u ^ jx)]`;
        L.push(`    { let xa = ${at(2 * c)}; let xb = ${at(2 * c + 1)};`);
        for (let i = 0; i < NR; i++) L.push(`      t${i}_${m} += dot(xa, w${i}_${c}.a) + dot(xb, w${i}_${c}.b);`);
        L.push('    }');
      }
    }
    for (let i = 0; i < NR; i++) L.push(`    ${Array.from({ length: MR }, (_, m) => `a${i}_${m} += s${i} * t${i}_${m};`).join(' ')}`);
    return shell('// 32 q4 weights a lane step, x staged in workgroup memory', MR, NR, 'p.K / 32u', L, { ...o, steps: 1 });
  });
}

/** The 32-weight step j's code words and scales of its NR rows (q<i>, s<i>): the wide and staged bodies' loads. */
function stepLoads32(NR: number): string[] {
  return Array.from({ length: NR }, (_, i) => `    let q${i} = w32(wr${i}, j, p.K); let s${i} = w32_scale(wr${i}, j, p.K);`);
}

/** Bytes of workgroup memory gemvStagedBody needs at most for mr rows of x of length K: the rows (`xs`), the row reduction's 2048 floats (`red`: fewer where MatmulKernel.gemvRedFloats sizes it), the codebook, the norm's partial sums (`nss`, `nrsq`). */
export function stagedGemvBytes(mr: number, K: number, norm: boolean): number {
  return mr * K * 4 + 2048 * 4 + 16 * 4 + (norm ? (256 + 16) * 4 : 0);
}

/** Statements staging rows m0 … m0 + MR − 1 of x (S vec4 each) into `xs` at the swizzled places (gemvStagedBody), as x∘g with `norm` and their Σx² into st<m> where `sums`. */
function stageX(MR: number, S: number, norm: boolean, sums: boolean): string[] {
  const ms = Array.from({ length: MR }, (_, m) => m);
  const L = sums ? [`  var ${ms.map((m) => `st${m} = 0.0`).join('; var ')};`] : [];
  L.push(`  for (var v = lid; v < ${S}u; v += 256u) {`);
  L.push('    let sv = v ^ ((v >> 3u) & 7u);');
  if (norm) L.push('    let gv = normw[v];');
  for (const m of ms) L.push(`    { let t = x[(m0 + ${m}u) * ${S}u + v]; xs[${m * S}u + sv] = t${norm ? ' * gv' : ''};${sums ? ` st${m} += dot(t, t);` : ''} }`);
  L.push('  }');
  return L;
}

function key(o: BodyOpts): string {
  return `${!!o.norm}:${!!o.norm && !!o.unscaled}:${o.steps ?? 1}:${o.sg ?? 0}:${!!o.loraFold}:${prologue(o)}:${!!o.swiglu}:${o.staged ?? 0}:${!!o.x16}`;
}

/** whether the norm's Σx² is summed by the workgroup before the walk (BodyOpts.prologue) */
function prologue(o: BodyOpts): boolean {
  return !!o.norm && !o.unscaled && !!o.prologue && !o.staged;
}

/** whether the walk sums Σx² (a fused norm with its rsqrt, not from the prologue) */
function walkSums(o: BodyOpts): boolean {
  return !o.unscaled && !prologue(o) && !o.staged;
}

function memo(key: string, make: () => string): string {
  let s = cache.get(key);
  if (s === undefined) cache.set(key, (s = make()));
  return s;
}

/**
 * WGSL statements leaving in `out` (a new `var`) the sum over the row's LANES lanes of vals[m] for
 * m = g.lane (valid in lanes < vals.length). sg 0: reduce_rows() of gemv_reduce_{subgroup,shared}.wgsl.
 * sg > 0 (every subgroup sg lanes wide, rows aligned to them): reduce-scatter over Q = min(P, sg)
 * lanes of the P = vals.length rounded up to a power of two — at offset d each lane keeps the half of
 * its values chosen by its lane bit d and adds the other half from lane ^ d — so lane l ends with
 * values (l mod Q)·P/Q … + P/Q − 1 summed over those Q lanes; the other lanes of the subgroup are
 * added by plain xor shuffles (offsets Q … sg/2, below LANES), then subgroups of a row through
 * workgroup memory (gemv_reduce_subgroup.wgsl's `red`) where a row spans several.
 */
function rowSum(vals: string[], out: string, sg: number): string[] {
  const MR = vals.length;
  if (!sg) {
    return [`  var ${out} = 0.0;`, `  { var part: array<f32, MAXM>; ${vals.map((v, m) => `part[${m}] = ${v};`).join(' ')}`, `    ${out} = reduce_rows(&part, g.r, g.lane); }`];
  }
  let P = 1;
  while (P < MR) P *= 2;
  const Q = Math.min(P, sg);
  const L: string[] = [`  var ${out} = 0.0;`, '  {'];
  let cur = Array.from({ length: P }, (_, m) => (m < MR ? vals[m] : '0.0'));
  for (let d = Q / 2, lvl = 1; d >= 1; d /= 2, lvl++) {
    const h = cur.length / 2;
    L.push(`    let h${lvl} = (g.lane & ${d}u) != 0u;`);
    const next: string[] = [];
    for (let k = 0; k < h; k++) {
      L.push(`    let c${lvl}_${k} = select(${cur[k]}, ${cur[k + h]}, h${lvl}) + subgroupShuffleXor(select(${cur[k + h]}, ${cur[k]}, h${lvl}), ${d}u);`);
      next.push(`c${lvl}_${k}`);
    }
    cur = next;
  }
  const T = cur.length; // P / Q values per lane
  cur.forEach((c, t) => L.push(`    var r${t} = ${c};`));
  for (let d = Q; d < sg; d *= 2) L.push(`    if (${d}u < LANES) { ${cur.map((_, t) => `r${t} += subgroupShuffleXor(r${t}, ${d}u);`).join(' ')} }`);
  L.push(`    ${out} = r0;`); // Q = P: lane m holds value m
  L.push(`    if (${sg}u < LANES) {`);
  L.push('      let base = g.r * (LANES / 2u);');
  L.push(`      if (g.lane % ${sg}u < ${Q}u) { let at = (base + g.lane / ${sg}u) * 16u + (g.lane % ${sg}u) * ${T}u; ${cur.map((_, t) => `red[at + ${t}u] = r${t};`).join(' ')} }`);
  L.push('      workgroupBarrier();');
  L.push(`      if (g.lane < ${MR}u) { ${out} = 0.0; for (var s = 0u; s < LANES / ${sg}u; s++) { ${out} += red[(base + s) * 16u + g.lane]; } }`);
  L.push('      workgroupBarrier(); // the next row sum writes red again');
  L.push('    }');
  L.push('  }');
  return L;
}

/** the kernel around a lane step: accumulators, the lane's walk over `groups` steps, finish (as gemv_common.wgsl's) */
function shell(what: string, MR: number, NR: number, groups: string, step: string[], o: BodyOpts): string {
  const { steps: U = 1, sg = 0, loraFold = false } = o;
  const scaled = !!o.norm && !o.unscaled; // the rsqrt of the norm, from Σx² summed on the way (or by the prologue)
  const pro = prologue(o);
  const S = o.staged ?? 0; // K / 4 of x staged in workgroup memory (gemvStagedBody)
  const stagedSums = S > 0 && scaled; // its Σx² summed as it is staged
  const acc: string[] = [];
  for (let i = 0; i < NR; i++) for (let m = 0; m < MR; m++) acc.push(`a${i}_${m}`);
  const h16: string[] = [];
  if (o.x16) for (let i = 0; i < NR; i++) for (let m = 0; m < MR; m++) h16.push(`h${i}_${m}`);
  if (scaled && !pro && !S) for (let m = 0; m < MR; m++) acc.push(`ss${m}`);
  const fin: string[] = [];
  if (pro || stagedSums) fin.push('  let scale = nrsq[min(g.lane, MR - 1u)];');
  else if (scaled) {
    fin.push(...rowSum(Array.from({ length: MR }, (_, m) => `ss${m}`), 'ssum', sg));
    fin.push('  let scale = inverseSqrt(ssum / f32(p.K) + p.eps);');
  }
  const sc = scaled ? ' * scale' : '';
  if (o.swiglu && NR !== 2) throw new Error(`GEMV body: the SwiGLU store needs NR = 2 (a gate|up pair a lane group), got ${NR}`);
  for (let i = 0; i < NR; i++) {
    fin.push(...rowSum(Array.from({ length: MR }, (_, m) => `a${i}_${m}`), `v${i}`, sg));
    if (!o.swiglu) fin.push(`  if (g.lane < MR && ${i}u < rows) { ${loraFold ? 'store_y' : 'store'}(g.mb + g.lane, n0 + ${i}u, v${i}${sc}); }`);
  }
  if (o.swiglu) fin.push(`  if (g.lane < MR && rows > 0u) { store_swiglu(g.mb + g.lane, wr0, p.N / 2u, v0${sc}, v1${sc}); }`);
  // the rows this lane group reads: its NR rows (past N: the last, never stored), or the gate|up pair j, j + N/2
  const wr = o.swiglu
    ? ['  let wr0 = min(n0 / 2u, p.N / 2u - 1u); // unit j: gate row j, up row j + N/2', '  let wr1 = wr0 + p.N / 2u;']
    : Array.from({ length: NR }, (_, i) => `  let wr${i} = n0 + min(${i}u, last);`);
  return [
    `${what}, unrolled for MR = ${MR}, NR = ${NR}${o.norm ? `, RMSNorm${o.unscaled ? ' weight only' : ''} fused${pro ? ' (Σx² by the workgroup first)' : ''}` : ''}${sg ? `, subgroups of ${sg}` : ''}${loraFold ? ', LoRA summed by the lanes' : ''}${o.swiglu ? ', storing silu(gate)·up' : ''} (src/kernels/gemv_body.ts)`,
    ...(pro || stagedSums ? ['var<workgroup> nss: array<f32, 256>; // [MR][16] partial Σx² (the prologue)', 'var<workgroup> nrsq: array<f32, 16>; // [MR] rsqrt(mean x² + eps)'] : []),
    ...(S ? [`var<workgroup> xs: array<vec4<f32>, ${MR * S}>; // [MR][K/4] x (with the norm x∘g), vec4 v at v ^ ((v >> 3) & 7)`] : []),
    '@compute @workgroup_size(256)',
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
    '  let g = lane_group(wid, nwg, lid);',
    '  let n0 = g.n0;',
    '  let rows = g.rows;',
    '  let last = max(rows, 1u) - 1u;',
    '  let m0 = p.mOff + g.mb; // the first row of x of this lane group (MGRID: of this workgroup row)',
    ...wr,
    `  var ${acc.map((a) => `${a} = 0.0`).join('; var ')};`,
    ...(h16.length ? [`  var ${h16.map((h) => `${h} = vec4<f16>()`).join('; var ')};`] : []),
    ...(loraFold ? loraLoads(MR, NR) : []),
    ...(pro ? sumSquaresByWorkgroup(MR, 256, SS_ROWS, { red: 'red', part: 'nss', out: 'nrsq' }, 'ps', '(p.K / 4u)') : []), // red: the row reduction's 2048 floats, free until the walk ends
    ...(S ? stageX(MR, S, !!o.norm, stagedSums) : []),
    ...(stagedSums ? reduceSumSquares(MR, 256, SS_ROWS, { red: 'red', part: 'nss', out: 'nrsq' }, 'st') : []),
    '  w_init(lid);',
    '  workgroupBarrier();',
    ...(loraFold ? loraSums(MR, NR) : []),
    `  let groups = ${groups};`,
    '  let k4 = p.K / 4u;',
    `  for (var j = g.lane; j < groups && rows > 0u; j += ${U === 1 ? 'LANES' : `${U}u * LANES`}) {`,
    ...step,
    '  }',
    ...h16.map((h) => `  a${h.slice(1)} += dot(vec4<f32>(${h}), vec4(1.0));`),
    ...fin,
    '}',
  ].join('\n');
}

/**
 * loraFold, before the codebook barrier: rank slot r = lane's B[n, r]·scale of the NR rows and u[m,
 * slice(n)·R + r] of the MR rows of x, loaded (so their latency overlaps the barrier's) — zeros in
 * lanes ≥ R and lane groups past N.
 */
function loraLoads(MR: number, NR: number): string[] {
  const L = ['  let loraR = select(p.R, LORA_R, LORA_R > 0u);'];
  for (let i = 0; i < NR; i++) L.push(`  var lb${i} = 0.0;${Array.from({ length: MR }, (_, m) => ` var lu${i}_${m} = 0.0;`).join('')}`);
  L.push('  if (LORA && g.lane < loraR && rows > 0u) {');
  for (let i = 0; i < NR; i++) {
    L.push(`    { let ng = p.nOff + wr${i}; let us = lora_slice(ng) * loraR + g.lane; lb${i} = loraB[ng * loraR + g.lane] * p.loraScale;`);
    L.push(`      ${Array.from({ length: MR }, (_, m) => `lu${i}_${m} = loraU[(m0 + ${m}u) * p.ldu + us];`).join(' ')} }`);
  }
  L.push('  }');
  return L;
}

/** loraFold, after the barrier: the loaded slot's products into the accumulators, then any further slots r = lane + LANES, … (ranks above LANES) loaded and added in a loop */
function loraSums(MR: number, NR: number): string[] {
  const ls = (i: number) => Array.from({ length: MR }, (_, m) => `a${i}_${m}`);
  const L: string[] = [];
  for (let i = 0; i < NR; i++) L.push(`  ${ls(i).map((a, m) => `${a} += lu${i}_${m} * lb${i};`).join(' ')}`);
  L.push('  if (LORA && rows > 0u) {');
  L.push('    for (var r = g.lane + LANES; r < loraR; r += LANES) {');
  for (let i = 0; i < NR; i++) {
    L.push(`      { let ng = p.nOff + wr${i}; let us = lora_slice(ng) * loraR + r; let b = loraB[ng * loraR + r] * p.loraScale;`);
    L.push(`        ${ls(i).map((a, m) => `${a} += loraU[(m0 + ${m}u) * p.ldu + us] * b;`).join(' ')} }`);
  }
  L.push('    }', '  }');
  return L;
}
