// The decode GEMV bodies with the MR × NR accumulators unrolled into scalar variables: WGSL text
// made for each (MR, NR), composed like shaders/matmul_gemv.wgsl (8-weight steps, any format) and
// shaders/matmul_gemv_wide.wgsl (32 q4 weights per step), which stay the readable form of the same
// loop. Those index one array<f32, 64> of accumulators in loops whose trip counts are override
// constants — fine where the shader compiler unrolls them, slow where it keeps the array in memory.
// Here every accumulator is its own `var`, so it cannot leave registers. Rows of a lane group past
// N read the group's last row (never stored), so the loads need no branch.
// Same arithmetic and order as the loop forms, so the same results. Only these bodies can apply the
// RMSNorm of their x (gemvBody's `norm`: the decode q|k|v and gate|up GEMVs read the residual stream).

const cache = new Map<string, string>();

/**
 * x read by the lane step: `xa`/`xb`, the two vec4 at vec4 index `idx` (a WGSL expression) of row
 * `m` of x; with `norm`, multiplied by the RMSNorm weight and their squares summed into ss<m>.
 * `mask` (a WGSL f32 expression, 0 or 1) zeroes a step past the row's end (norm: so it adds no Σx²).
 */
function xLoads(m: number, idx: string, norm: boolean, mask = ''): string {
  if (!norm) return `let xa = xv(p.mOff + ${m}u, ${idx}, k4); let xb = xv(p.mOff + ${m}u, ${idx} + 1u, k4);`;
  const f = mask ? ` * ${mask}` : '';
  return `let ra = x[(p.mOff + ${m}u) * k4 + ${idx}]${f}; let rb = x[(p.mOff + ${m}u) * k4 + ${idx} + 1u]${f}; ss${m} += dot(ra, ra) + dot(rb, rb); let xa = ra * normw[${idx}]; let xb = rb * normw[${idx} + 1u];`;
}

/**
 * The body of the 8-weight GEMV (matmul_gemv.wgsl) for MR rows of x and NR output rows per lane
 * group. `norm`: x is the raw residual stream and the GEMV applies the RMSNorm itself — x·g is
 * multiplied in, Σx² of each row summed on the way (a lane group reads all of every row of x), and
 * each result scaled by rsqrt(mean + eps) before the epilogue: xn·Wᵀ = rsqrt(…) · (x∘g)·Wᵀ.
 */
export function gemvBody(MR: number, NR: number, norm = false, U = 1): string {
  return memo(`8:${MR}:${NR}:${norm}:${U}`, () => {
    const L: string[] = [];
    if (U === 1) {
      for (let i = 0; i < NR; i++) L.push(`    let w${i} = w8(n0 + min(${i}u, last), j, p.K);`);
      for (let m = 0; m < MR; m++) {
        L.push(`    { ${xLoads(m, '2u * j', norm)}`);
        for (let i = 0; i < NR; i++) L.push(`      a${i}_${m} += dot(xa, w${i}.a) + dot(xb, w${i}.b);`);
        L.push('    }');
      }
      return shell('// 8 weights per lane step', MR, NR, 'p.K / 8u', L, norm);
    }
    // U steps per loop trip, all their weight loads first (U loads in flight per row instead of one);
    // a step past the row's end reloads step j (a valid address) and is zeroed by its mask f<u>
    for (let u = 0; u < U; u++) {
      if (u === 0) L.push('    let j0 = j;');
      else L.push(`    let ok${u} = j + ${u}u * LANES < groups; let j${u} = select(j, j + ${u}u * LANES, ok${u}); let f${u} = select(0.0, 1.0, ok${u});`);
      for (let i = 0; i < NR; i++) L.push(`    let w${i}_${u} = w8(n0 + min(${i}u, last), j${u}, p.K);`);
    }
    for (let u = 0; u < U; u++) {
      for (let m = 0; m < MR; m++) {
        const f = u === 0 ? '' : `f${u}`; // step 0 of a trip is always inside the row
        L.push(`    { ${xLoads(m, `2u * j${u}`, norm, norm ? f : '')}`);
        // without norm the mask goes on the sums (one multiply per row instead of two vec4 per x row)
        for (let i = 0; i < NR; i++) L.push(`      a${i}_${m} += ${norm || !f ? '' : `${f} * `}(dot(xa, w${i}_${u}.a) + dot(xb, w${i}_${u}.b));`);
        L.push('    }');
      }
    }
    return shell(`// 8 weights per lane step, ${U} steps per trip`, MR, NR, 'p.K / 8u', L, norm, U);
  });
}

/** the body of the wide q4 GEMV (matmul_gemv_wide.wgsl) for MR rows of x and NR output rows per lane group; `norm` as gemvBody's */
export function gemvWideBody(MR: number, NR: number, norm = false): string {
  return memo(`32:${MR}:${NR}:${norm}`, () => {
    const L: string[] = [];
    for (let i = 0; i < NR; i++) L.push(`    let q${i} = w32(n0 + min(${i}u, last), j, p.K); let s${i} = w32_scale(n0 + min(${i}u, last), j, p.K);`);
    for (let c = 0; c < 4; c++) {
      for (let i = 0; i < NR; i++) L.push(`    let w${i}_${c} = w_word(q${i}[${c}]);`);
      for (let m = 0; m < MR; m++) {
        L.push(`    { ${xLoads(m, `8u * j + ${2 * c}u`, norm)}`);
        for (let i = 0; i < NR; i++) L.push(`      a${i}_${m} += (dot(xa, w${i}_${c}.a) + dot(xb, w${i}_${c}.b)) * s${i};`);
        L.push('    }');
      }
    }
    return shell('// 32 q4 weights (one vec4<u32> of codes) per lane step', MR, NR, 'p.K / 32u', L, norm);
  });
}

function memo(key: string, make: () => string): string {
  let s = cache.get(key);
  if (s === undefined) cache.set(key, (s = make()));
  return s;
}

/** the kernel around a lane step: accumulators, the lane's walk over `groups` steps, finish (as gemv_common.wgsl's) */
function shell(what: string, MR: number, NR: number, groups: string, step: string[], norm: boolean, U = 1): string {
  const acc: string[] = [];
  for (let i = 0; i < NR; i++) for (let m = 0; m < MR; m++) acc.push(`a${i}_${m}`);
  if (norm) for (let m = 0; m < MR; m++) acc.push(`ss${m}`);
  const fin: string[] = [];
  if (norm) {
    const parts = Array.from({ length: MR }, (_, m) => `part[${m}] = ss${m};`).join(' ');
    fin.push(`  var scale = 1.0;`);
    fin.push(`  { var part: array<f32, MAXM>; ${parts}`);
    fin.push(`    scale = inverseSqrt(reduce_rows(&part, g.r, g.lane) / f32(p.K) + p.eps); }`);
  }
  for (let i = 0; i < NR; i++) {
    const parts = Array.from({ length: MR }, (_, m) => `part[${m}] = a${i}_${m};`).join(' ');
    fin.push(`  { var part: array<f32, MAXM>; ${parts}`);
    fin.push(`    let v = reduce_rows(&part, g.r, g.lane);`);
    fin.push(`    if (g.lane < MR && ${i}u < rows) { store(g.lane, n0 + ${i}u, v${norm ? ' * scale' : ''}); } }`);
  }
  return [
    `${what}, unrolled for MR = ${MR}, NR = ${NR} (src/kernels/gemv_body.ts)`,
    '@compute @workgroup_size(256)',
    'fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {',
    '  w_init(lid);',
    '  workgroupBarrier();',
    '  let g = lane_group(wid, nwg, lid);',
    '  let n0 = g.n0;',
    '  let rows = g.rows;',
    '  let last = max(rows, 1u) - 1u;',
    `  let groups = ${groups};`,
    '  let k4 = p.K / 4u;',
    `  var ${acc.map((a) => `${a} = 0.0`).join('; var ')};`,
    `  for (var j = g.lane; j < groups && rows > 0u; j += ${U === 1 ? 'LANES' : `${U}u * LANES`}) {`,
    ...step,
    '  }',
    ...fin,
    '}',
  ].join('\n');
}
