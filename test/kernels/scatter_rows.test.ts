// Row scatter kernel vs the naive CPU reference (exact: pure copies): decode-like steps of a
// step-major layout written into a random dst (untouched rows kept; the captured commands replayed
// after pos advances write the next step's rows elsewhere), a prefill-like contiguous block, an odd C
// over several workgroups, a negative destination row, R = 0, and the wrapper's validation.
import { describe, expect, it } from 'vitest';
import { writeView } from '../../src/gpu/buffers';
import { Recorder, type Capture } from '../../src/gpu/encoder';
import { ScatterRowsKernel } from '../../src/kernels/scatter_rows';
import { scatterRowsRef } from '../../src/reference/scatter_rows';
import { expectClose } from '../helpers/compare';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal, rng } from '../helpers/random';

/** Runs the kernel on src f32[R, C] into a dst starting as `init`; checks it against the reference on a copy of `init`. */
async function check(src: Float32Array, pos: Int32Array, map: Int32Array, init: Float32Array, R: number, C: number, label: string): Promise<Float32Array> {
  const ctx = await testGpu();
  const k = await ScatterRowsKernel.create(ctx);
  const sb = ctx.memory.upload('src', src);
  const pb = ctx.memory.upload('pos', pos);
  const mb = ctx.memory.upload('map', map);
  const db = ctx.memory.upload('dst', init);
  const got = await runAndRead(ctx, db, (rec) => k.encode(rec, { src: sb, pos: pb, map: mb, dst: db }, R, C));
  const want = init.slice();
  scatterRowsRef(src, pos, map, want, R, C);
  expectClose(got, want, 0, label);
  [sb, pb, mb, db].forEach((b) => ctx.memory.destroy(b));
  return got;
}

/** Rows of `a` and `b` [*, C] that differ. */
function changedRows(a: Float32Array, b: Float32Array, C: number): number[] {
  const rows: number[] = [];
  for (let r = 0; r < a.length / C; r++) {
    if (a.subarray(r * C, (r + 1) * C).some((x, c) => !Object.is(x, b[r * C + c]))) rows.push(r);
  }
  return rows;
}

describe('scatter_rows', () => {
  it('decode steps into a step-major layout: untouched rows kept, replay after pos advances writes the next step', async () => {
    const [P, nb, C, D] = [3, 4, 8, 3 + 4 * 5]; // prompt P, nb branches, training rows P + nb·5
    const R = nb;
    // step-major layout: token at position t ≥ P of branch i sits at row P + nb·(t − P) + i
    const map = Int32Array.from({ length: 2 * R }, (_, e) => (e % 2 ? nb : P * (1 - nb) + (e >> 1)));
    expect(map[0]).toBe(-9); // a negative base
    const pos = new Int32Array(R).fill(P + 2); // step j = 2 → rows 11..14
    const init = normal(1, D * C);
    const src1 = normal(2, R * C);
    const src2 = normal(3, R * C);

    const ctx = await testGpu();
    const k = await ScatterRowsKernel.create(ctx);
    const sb = ctx.memory.upload('src', src1);
    const pb = ctx.memory.upload('pos', pos);
    const mb = ctx.memory.upload('map', map);
    const db = ctx.memory.upload('dst', init);
    let cap: Capture | undefined;
    const got1 = await runAndRead(ctx, db, (rec) => {
      rec.beginCapture();
      k.encode(rec, { src: sb, pos: pb, map: mb, dst: db }, R, C);
      cap = rec.endCapture();
    });
    const want = init.slice();
    scatterRowsRef(src1, pos, map, want, R, C);
    expectClose(got1, want, 0, 'step 2');
    expect(changedRows(init, got1, C)).toEqual([11, 12, 13, 14]);

    // the next decode step: new rows, every position + 1, the same recorded commands
    const pos2 = pos.map((t) => t + 1);
    writeView(ctx.device, pb, 0, pos2);
    writeView(ctx.device, sb, 0, src2);
    const got2 = await runAndRead(ctx, db, (rec) => rec.replay(cap!));
    scatterRowsRef(src2, pos2, map, want, R, C);
    expectClose(got2, want, 0, 'step 3');
    expect(changedRows(init, got2, C)).toEqual([11, 12, 13, 14, 15, 16, 17, 18]);
    expect(got2.subarray(11 * C, 15 * C)).toEqual(src1); // step 2's rows still there
    expect(got2.subarray(15 * C, 19 * C)).toEqual(src2);
    [sb, pb, mb, db].forEach((b) => ctx.memory.destroy(b));
  });

  it('prefill: rows (base 7, stride 1) at positions 0..4 go to dst rows 7..11', async () => {
    const [R, C, D] = [5, 6, 14];
    const map = Int32Array.from({ length: 2 * R }, (_, e) => (e % 2 ? 1 : 7));
    const pos = Int32Array.from({ length: R }, (_, r) => r);
    const src = normal(4, R * C);
    const init = normal(5, D * C);
    const got = await check(src, pos, map, init, R, C, 'prefill');
    expect(changedRows(init, got, C)).toEqual([7, 8, 9, 10, 11]);
    expect(got.subarray(7 * C, 12 * C)).toEqual(src);
  });

  it('odd C = 13 over several workgroups, rows scattered out of order', async () => {
    const [R, C, D] = [40, 13, 130]; // 520 elements: 3 workgroups, a partial last one
    const r = rng(6);
    const perm = Array.from({ length: D }, (_, i) => i);
    for (let i = D - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    // distinct destinations perm[i] = base + pos·stride with mixed strides and negative bases
    const map = new Int32Array(2 * R);
    const pos = new Int32Array(R);
    for (let i = 0; i < R; i++) {
      const stride = 1 + (i % 3);
      pos[i] = 5 + i;
      map[2 * i] = perm[i] - pos[i] * stride;
      map[2 * i + 1] = stride;
    }
    expect(map.some((x, e) => e % 2 === 0 && x < 0)).toBe(true);
    const init = normal(7, D * C);
    const got = await check(normal(8, R * C), pos, map, init, R, C, 'odd C');
    expect(changedRows(init, got, C)).toEqual(perm.slice(0, R).sort((a, b) => a - b));
  });

  it('a destination row < 0 writes nothing', async () => {
    const [R, C, D] = [3, 5, 6];
    const map = Int32Array.from([0, 1, -10, 2, 4, 0]); // row 1 goes to −10 + 3·2 = −4
    const pos = Int32Array.from([2, 3, 9]);
    const src = normal(9, R * C);
    const init = normal(10, D * C);
    const ctx = await testGpu();
    const k = await ScatterRowsKernel.create(ctx);
    const [sb, pb, mb, db] = [ctx.memory.upload('src', src), ctx.memory.upload('pos', pos), ctx.memory.upload('map', map), ctx.memory.upload('dst', init)];
    const got = await runAndRead(ctx, db, (rec) => k.encode(rec, { src: sb, pos: pb, map: mb, dst: db }, R, C));
    expect(() => scatterRowsRef(src, pos, map, init.slice(), R, C)).toThrow(/row 1 goes to -10 \+ 3·2 = -4, outside dst \[0, 6\)/);
    const want = init.slice();
    want.set(src.subarray(0, C), 2 * C);
    want.set(src.subarray(2 * C, 3 * C), 4 * C);
    expectClose(got, want, 0, 'negative row');
    [sb, pb, mb, db].forEach((b) => ctx.memory.destroy(b));
  });

  it('R = 0 dispatches nothing', async () => {
    const ctx = await testGpu();
    const k = await ScatterRowsKernel.create(ctx);
    const b = ctx.memory.create('x', 16);
    const rec = new Recorder(ctx, 'test');
    k.encode(rec, { src: b, pos: b, map: b, dst: b }, 0, 5);
    expect(rec.dispatches).toBe(0);
    rec.discard();
    ctx.memory.destroy(b);
  });

  it('rejects R < 0, C < 1, non-integers and R·C past u32, naming the numbers, before encoding anything', async () => {
    const ctx = await testGpu();
    const k = await ScatterRowsKernel.create(ctx);
    const b = ctx.memory.create('x', 16);
    const rec = new Recorder(ctx, 'test');
    const bs = { src: b, pos: b, map: b, dst: b };
    expect(() => k.encode(rec, bs, -1, 4)).toThrow(/R -1, C 4/);
    expect(() => k.encode(rec, bs, 3, 0)).toThrow(/R 3, C 0/);
    expect(() => k.encode(rec, bs, 2.5, 4)).toThrow(/R 2\.5, C 4/);
    expect(() => k.encode(rec, bs, 3, 1.5)).toThrow(/R 3, C 1\.5/);
    expect(() => k.encode(rec, bs, 65536, 65536)).toThrow(/R·C = 65536·65536 = 4294967296 exceeds the u32 index range/);
    expect(rec.dispatches).toBe(0);
    rec.discard();
    ctx.memory.destroy(b);
  });
});
