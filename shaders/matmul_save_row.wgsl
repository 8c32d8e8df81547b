// A copy of what a decode GEMV stores, into a buffer at the training layout's rows — the GRPO step's
// rollout keeps each layer's input for the policy pass (src/model/engine.ts RowSave): the down
// projection's stored row, the next layer's input, also goes to
//   saveDst[(saveMap[2m] + savePos[m] · saveMap[2m+1]) · ldy + nOff + n]      m = mOff + mLocal
// as shaders/scatter_rows.wgsl would copy it after the GEMV (a row < 0 writes nothing), without that
// dispatch. Composed after matmul_epilogue.wgsl in place of the no-op save_row() (src/kernels/matmul.ts).
// Bindings: 10 savePos i32[M] · 11 saveMap i32[M, 2] (base, stride) · 12 saveDst f32[D, ldy]
@group(0) @binding(10) var<storage, read> savePos: array<i32>;
@group(0) @binding(11) var<storage, read> saveMap: array<i32>;
@group(0) @binding(12) var<storage, read_write> saveDst: array<f32>;

fn save_row(mLocal: u32, n: u32, v: f32) {
  let m = p.mOff + mLocal;
  let row = saveMap[2u * m] + savePos[m] * saveMap[2u * m + 1u];
  if (row >= 0) { saveDst[u32(row) * p.ldy + p.nOff + n] = v; }
}
