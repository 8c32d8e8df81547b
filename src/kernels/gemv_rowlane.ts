// The row-lane GEMV body (q4 weights, K % 32 = 0, 1…16 rows of x; the default for gate|up at 4–8
// rows: MatmulKernel.rowLaneFor): WGSL made per (MR, NR, threads), composed after
// weights_q4_wide.wgsl (16-byte code loads), matmul_epilogue.wgsl and a save_row() snippet.
// Shapes: x f32[M, K] (rows mOff…mOff + MR of this dispatch), codes [N, K/32] vec4<u32>, y f32[M, ldy].
//
// Why another GEMV: the lane-group GEMV (gemv_body.ts) gives each output row LANES lanes that split
// its K, so every lane reads its own x values — at 8–16 rows of x those x loads (from L1, each warp
// load 4–8 cache wavefronts) outnumber everything else ≈ 5 : 1 and bound the kernel, not the weight
// bytes. Here the roles turn: a lane owns NR output rows, and the RL lanes of a row group walk the
// same k, so x[m, k] is one address per subgroup (a broadcast: one wavefront) and serves RL · NR rows.
// (Measured at gate|up, 8 rows, H100: the f32 multiply-adds are now its largest part, the x loads
// and the code stream next — bench/RESULTS.md, twelfth session.)
//
// Workgroup: WG threads (256 or 128) = KP = WG / RL k-parts × RL row lanes (thread lid: lane rl = lid % RL,
// part kp = lid / RL). The workgroup owns rows nb + i·RL + rl (i < NR, nb = workgroup · RL·NR);
// k-part kp walks 32-weight steps s = kp, kp + KP, … < K/32 (one vec4<u32> of codes a row and step,
// neighbouring parts reading neighbouring 16 bytes of a row). Each step sums its products unscaled
// and adds them times the 64-block's scale (MR multiply-adds a row instead of 32 multiplies).
// The KP parts of each (row, row of x) are then added through workgroup memory (`red`, in chunks of
// VC values a thread when NR·MR · WG floats do not fit) and stored by store()/store_y(). No subgroup
// operations: the same code runs with and without them.
// `norm`: x is the raw residual stream; the RMSNorm weight g goes on the weights (one uniform vec4
// load a word), Σx² of each row of x is summed by the whole workgroup first (a tree through `red`),
// and each sum is scaled by rsqrt(mean + eps) before the epilogue.
// `loraFold`: part kp adds u[m, slice·R + r]·B[n, r]·scale for ranks r = kp, kp + KP, … into its
// sums before the walk (with `norm`, u must come without the rsqrt, as gemv_body.ts's loraFold).
// `swiglu` (a gate|up weight [2I, K], NR = 2): a lane's two rows are the pair j, j + I (gate and up of
// one unit: the workgroup owns units nb … nb + RL − 1), both sums reach the same storing thread, and it
// stores h[m, j] = silu(g)·u (store_swiglu of matmul_epilogue.wgsl) into y [M, ldy ≥ I] — the SwiGLU kernel and the gate|up
// output's round trip through memory are gone. Needs the LoRA term summed by the parts (loraFold).

import { sumSquaresByWorkgroup } from './gemv_norm';

/** Row lanes (lanes sharing each x load) the row-lane GEMV takes: WG / RL k-parts a workgroup. */
export const ROWLANE_LANES_OPTIONS = [8, 16, 32, 64] as const;

export interface RowLaneOpts {
  /** x is the raw residual stream; the GEMV applies the RMSNorm (as gemvBody's `norm`) */
  norm?: boolean;
  /** the LoRA term summed into the parts' sums (store_y) instead of store()'s epilogue */
  loraFold?: boolean;
  /** floats of workgroup memory the reduction may use (≥ threads): the device's limit less the kernel's other arrays */
  redFloats: number;
  /** threads a workgroup: 256 or 128 (KP = threads / RL k-parts) */
  threads?: number;
  /** NR = 2 rows a lane as the gate|up pair (j, j + N/2), storing silu(gate)·up (above) */
  swiglu?: boolean;
}

const cache = new Map<string, string>();

/** Floats of workgroup memory the row-lane GEMV uses besides `red`: the codebook, and with the norm its partial sums and rsqrts. */
export function rowLaneFixedFloats(MR: number, norm: boolean): number {
  return 16 + (norm ? MR * 16 + 16 : 0);
}

/** the body of the row-lane GEMV for MR rows of x and NR output rows a lane */
export function gemvRowLaneBody(MR: number, NR: number, o: RowLaneOpts): string {
  const norm = !!o.norm;
  const fold = !!o.loraFold;
  const V = NR * MR;
  const WG = o.threads ?? 256;
  if (WG !== 128 && WG !== 256) throw new Error(`row-lane GEMV: threads must be 128 or 256, got ${WG}`);
  const swiglu = !!o.swiglu;
  if (swiglu && (NR !== 2 || !fold)) throw new Error(`row-lane GEMV: the SwiGLU store needs 2 rows a lane (the gate|up pair) and the LoRA term summed by the parts; got NR = ${NR}, loraFold ${fold}`);
  let VC = Math.max(1, Math.min(V, Math.floor(o.redFloats / WG)));
  if (swiglu) VC -= VC % 2; // whole (gate, up) pairs a chunk
  if (VC < 1) throw new Error(`row-lane GEMV: ${o.redFloats} floats of workgroup memory hold no (gate, up) pair of ${WG}-thread partials`);
  const key = `${MR}:${NR}:${norm}:${fold}:${VC}:${WG}:${swiglu}`;
  let s = cache.get(key);
  if (s === undefined) cache.set(key, (s = make(MR, NR, norm, fold, VC, WG, swiglu)));
  return s;
}

function make(MR: number, NR: number, norm: boolean, fold: boolean, VC: number, WG: number, swiglu: boolean): string {
  const V = NR * MR;
  const rows = Array.from({ length: NR }, (_, i) => i);
  const ms = Array.from({ length: MR }, (_, m) => m);
  const L: string[] = [
    `// row-lane GEMV, unrolled for MR = ${MR}, NR = ${NR}${norm ? ', RMSNorm fused' : ''}${fold ? ', LoRA summed by the parts' : ''}${swiglu ? ', storing silu(gate)·up' : ''} (src/kernels/gemv_rowlane.ts)`,
    'override RL: u32 = 32u;',
    `override KP: u32 = ${WG}u / RL;`,
    `var<workgroup> red: array<f32, ${VC * WG}>;`,
    ...(norm ? [`var<workgroup> ssq: array<f32, ${MR * 16}>;`, 'var<workgroup> rsq: array<f32, 16>;'] : []),
    '',
    `@compute @workgroup_size(${WG})`,
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
    '  let rl = lid % RL;',
    '  let kp = lid / RL;',
    ...(swiglu
      ? ['  let nb = (wid.x + wid.y * nwg.x) * RL; // the first (gate, up) unit of the workgroup', '  let half = p.N / 2u;', '  let n0 = min(nb + rl, half - 1u); // units past N/2 read the last one (never stored)', '  let n1 = n0 + half;']
      : [`  let nb = (wid.x + wid.y * nwg.x) * RL * ${NR}u;`, '  let last = p.N - 1u;', ...rows.map((i) => `  let n${i} = min(nb + ${i}u * RL + rl, last); // rows past N read the last row (never stored)`)]),
    '  let steps = p.K / 32u;',
    '  let k4 = p.K / 4u;',
    '  let m0 = p.mOff;',
    `  var ${rows.flatMap((i) => ms.map((m) => `a${i}_${m} = 0.0`)).join('; var ')};`,
  ];
  if (fold) {
    L.push('  if (LORA) {', '    let loraR = select(p.R, LORA_R, LORA_R > 0u);', '    for (var r = kp; r < loraR; r += KP) {');
    for (const i of rows) {
      L.push(`      { let ng = p.nOff + n${i}; let b = loraB[ng * loraR + r] * p.loraScale; let us = lora_slice(ng) * loraR + r;`);
      L.push(`        ${ms.map((m) => `a${i}_${m} += loraU[(m0 + ${m}u) * p.ldu + us] * b;`).join(' ')} }`);
    }
    L.push('    }', '  }');
  }
  L.push('  w_init(lid);');
  // Σx² of each row of x over the workgroup, min(VC, WG / 16) rows of x a round through red
  if (norm) L.push(...sumSquaresByWorkgroup(MR, WG, Math.min(VC, WG / 16), { red: 'red', part: 'ssq', out: 'rsq' }, 'ss', 'k4'));
  L.push('  workgroupBarrier();');
  L.push('  for (var s = kp; s < steps; s += KP) {');
  for (const i of rows) L.push(`    let q${i} = w32(n${i}, s, p.K); let c${i} = w32_scale(n${i}, s, p.K);`);
  L.push(`    var ${rows.flatMap((i) => ms.map((m) => `t${i}_${m} = 0.0`)).join('; var ')};`);
  for (let c = 0; c < 4; c++) {
    L.push(`    { let xi = 8u * s + ${2 * c}u;`);
    if (norm) L.push('      let ga = normw[xi]; let gb = normw[xi + 1u];');
    for (const i of rows) L.push(norm ? `      let r${i} = w_word(q${i}[${c}]); let w${i} = W8(r${i}.a * ga, r${i}.b * gb);` : `      let w${i} = w_word(q${i}[${c}]);`);
    for (const m of ms) {
      L.push(`      { let xa = x[(m0 + ${m}u) * k4 + xi]; let xb = x[(m0 + ${m}u) * k4 + xi + 1u];`);
      L.push(`        ${rows.map((i) => `t${i}_${m} += dot(xa, w${i}.a) + dot(xb, w${i}.b);`).join(' ')} }`);
    }
    L.push('    }');
  }
  L.push(`    ${rows.flatMap((i) => ms.map((m) => `a${i}_${m} += c${i} * t${i}_${m};`)).join(' ')}`);
  L.push('  }');
  // the KP parts of each value added through red, VC values a thread at a time; output o of a chunk:
  // value vv = o / RL (i = v / MR, m = v % MR), lane r = o % RL, its parts at red[vv·WG + k·RL + r]
  if (swiglu) {
    // values in (gate, up) pairs per row of x m: value 2m + i, so a chunk of VC (even) holds whole pairs
    const pairs = ms.flatMap((m) => [`a0_${m}`, `a1_${m}`]);
    for (let c0 = 0; c0 < V; c0 += VC) {
      const c1 = Math.min(V, c0 + VC);
      if (c0 > 0) L.push('  workgroupBarrier();');
      L.push(`  ${pairs.slice(c0, c1).map((a, k) => `red[${k}u * ${WG}u + lid] = ${a};`).join(' ')}`);
      L.push('  workgroupBarrier();');
      L.push(`  for (var o = lid; o < ${(c1 - c0) / 2}u * RL; o += ${WG}u) {`);
      L.push(`    let vv = o / RL; let r = o % RL; let m = ${c0 / 2}u + vv;`);
      L.push('    var tg = 0.0; var tu = 0.0;');
      L.push(`    for (var k = 0u; k < KP; k++) { tg += red[2u * vv * ${WG}u + k * RL + r]; tu += red[(2u * vv + 1u) * ${WG}u + k * RL + r]; }`);
      L.push('    let j = nb + r;');
      L.push(`    if (j < half) { store_swiglu(m, j, half, tg${norm ? ' * rsq[m]' : ''}, tu${norm ? ' * rsq[m]' : ''}); }`);
      L.push('  }');
    }
    L.push('}');
    return L.join('\n');
  }
  const vals = rows.flatMap((i) => ms.map((m) => `a${i}_${m}`));
  for (let c0 = 0; c0 < V; c0 += VC) {
    const c1 = Math.min(V, c0 + VC);
    if (c0 > 0) L.push('  workgroupBarrier();');
    L.push(`  ${vals.slice(c0, c1).map((a, k) => `red[${k}u * ${WG}u + lid] = ${a};`).join(' ')}`);
    L.push('  workgroupBarrier();');
    L.push(`  for (var o = lid; o < ${c1 - c0}u * RL; o += ${WG}u) {`);
    L.push('    let vv = o / RL; let r = o % RL;');
    L.push(`    let v = ${c0}u + vv; let i = v / ${MR}u; let m = v % ${MR}u;`);
    L.push('    var t = 0.0;');
    L.push(`    for (var k = 0u; k < KP; k++) { t += red[vv * ${WG}u + k * RL + r]; }`);
    L.push('    let n = nb + i * RL + r;');
    L.push(`    if (n < p.N) { ${fold ? 'store_y' : 'store'}(m, n, t${norm ? ' * rsq[m]' : ''}); }`);
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}
