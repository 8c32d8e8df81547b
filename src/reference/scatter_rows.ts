// Naive CPU row scatter to computed positions (the reference of shaders/scatter_rows.wgsl). Never optimised.

/**
 * src f32[R, C], pos [R], map [R, 2] ((base, stride) per row), dst f32[D, C] written in place:
 * dst[map[2r] + pos[r] · map[2r+1], :] = src[r, :] for r in [0, R), rows in order; rows of dst not
 * addressed keep their values (pass a copy of the kernel's input dst to get its expected output).
 * Throws on a destination row outside [0, D).
 */
export function scatterRowsRef(src: Float32Array, pos: Int32Array, map: Int32Array, dst: Float32Array, R: number, C: number): void {
  if (src.length < R * C) throw new Error(`scatterRowsRef: src has ${src.length} floats, needs R·C = ${R}·${C} = ${R * C}`);
  if (pos.length < R) throw new Error(`scatterRowsRef: pos has ${pos.length} entries, needs R = ${R}`);
  if (map.length < 2 * R) throw new Error(`scatterRowsRef: map has ${map.length} entries, needs 2R = ${2 * R}`);
  const D = Math.floor(dst.length / C);
  for (let r = 0; r < R; r++) {
    const row = (map[2 * r] + Math.imul(pos[r], map[2 * r + 1])) | 0; // i32, as the kernel computes it
    if (row < 0 || row >= D) throw new Error(`scatterRowsRef: row ${r} goes to ${map[2 * r]} + ${pos[r]}·${map[2 * r + 1]} = ${row}, outside dst [0, ${D})`);
    for (let c = 0; c < C; c++) dst[row * C + c] = src[r * C + c];
  }
}
