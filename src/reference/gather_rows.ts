// Naive CPU CSR row gather-sum (the reference of shaders/gather_rows.wgsl). Never optimised.

/**
 * src f32[S, C], off [rows + 1] (non-decreasing), idx [off[rows]] (each in [0, S)) → dst f32[rows, C];
 * dst[i, :] = Σ_{e ∈ [off[i], off[i+1])} src[idx[e], :], summed in f32 in list order (as the kernel
 * does, so the two agree exactly); an empty list gives a zero row.
 */
export function gatherRowsRef(src: Float32Array, off: Uint32Array | Int32Array, idx: Uint32Array | Int32Array, rows: number, C: number): Float32Array {
  if (off.length < rows + 1) throw new Error(`gatherRowsRef: off has ${off.length} entries, needs rows + 1 = ${rows + 1}`);
  const S = src.length / C;
  const dst = new Float32Array(rows * C);
  for (let i = 0; i < rows; i++) {
    if (off[i + 1] < off[i] || off[i + 1] > idx.length) throw new Error(`gatherRowsRef: list ${i} [${off[i]}, ${off[i + 1]}) is not within idx[0, ${idx.length})`);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let e = off[i]; e < off[i + 1]; e++) {
        const r = idx[e];
        if (r < 0 || r >= S) throw new Error(`gatherRowsRef: idx[${e}] = ${r} is outside [0, ${S})`);
        s = Math.fround(s + src[r * C + c]);
      }
      dst[i * C + c] = s;
    }
  }
  return dst;
}
