// The RMSNorm's Σx² of a GEMV that norms its own x, summed by the whole workgroup before the walk:
// WGSL statements shared by the row-lane GEMV (gemv_rowlane.ts `norm`) and the lane-group bodies
// (gemv_body.ts BodyOpts.prologue). Shapes: x vec4<f32>[M, K/4] (rows m0 … m0 + MR − 1 of this
// dispatch), out f32[MR] in workgroup memory.
// Thread lid sums vec4 lid, lid + WG, … of each row; the WG partials of a row go to 16 (threads < 16 ·
// rows of the round, each adding WG / 16 of them from `red`) and then to 1 (threads < MR, 16 each from
// `part`): `perRound` rows of x a round, as many as `red` holds (perRound · WG floats, perRound ≤ WG / 16).

/** Workgroup arrays the statements use: `red` (≥ perRound · WG floats), `part` (≥ 16 · MR) and `out` (≥ MR, receives rsqrt(mean x² + eps)). */
export interface SumSquaresArrays { red: string; part: string; out: string }

/**
 * Statements leaving rsqrt(Σx²/K + eps) of row m of x in `out[m]` (visible after the caller's next
 * barrier); `acc` names the per-thread sums (acc0 …), `k4` is a WGSL expression for K / 4.
 */
export function sumSquaresByWorkgroup(MR: number, WG: number, perRound: number, a: SumSquaresArrays, acc: string, k4: string): string[] {
  const ms = Array.from({ length: MR }, (_, m) => m);
  return [
    `  var ${ms.map((m) => `${acc}${m} = 0.0`).join('; var ')};`,
    `  for (var v = lid; v < ${k4}; v += ${WG}u) { ${ms.map((m) => `{ let t = x[(m0 + ${m}u) * ${k4} + v]; ${acc}${m} += dot(t, t); }`).join(' ')} }`,
    ...reduceSumSquares(MR, WG, perRound, a, acc),
  ];
}

/**
 * The reduction half of sumSquaresByWorkgroup: each thread's partial sums (`acc`0 … `acc`MR−1, summed
 * by the caller's own loads — the staged GEMV sums them as it stages x) to rsqrt(Σx²/K + eps) in `out[m]`.
 */
export function reduceSumSquares(MR: number, WG: number, perRound: number, a: SumSquaresArrays, acc: string): string[] {
  if (perRound < 1 || perRound > WG / 16) throw new Error(`Σx² by the workgroup: ${perRound} rows a round with ${WG} threads (1 … ${WG / 16})`);
  const ms = Array.from({ length: MR }, (_, m) => m);
  const L: string[] = [];
  for (let c0 = 0; c0 < MR; c0 += perRound) {
    const c1 = Math.min(MR, c0 + perRound);
    L.push(`  ${ms.slice(c0, c1).map((m) => `${a.red}[${(m - c0) * WG}u + lid] = ${acc}${m};`).join(' ')}`);
    L.push('  workgroupBarrier();');
    L.push(`  if (lid < ${(c1 - c0) * 16}u) { var t = 0.0; for (var k = 0u; k < ${WG / 16}u; k++) { t += ${a.red}[(lid / 16u) * ${WG}u + (lid % 16u) * ${WG / 16}u + k]; } ${a.part}[${c0 * 16}u + lid] = t; }`);
    L.push('  workgroupBarrier(); // the round has read red (the next writes it), its sums are in part');
  }
  L.push(`  if (lid < ${MR}u) { var t = 0.0; for (var k = 0u; k < 16u; k++) { t += ${a.part}[lid * 16u + k]; } ${a.out}[lid] = inverseSqrt(t / f32(p.K) + p.eps); }`);
  return L;
}
