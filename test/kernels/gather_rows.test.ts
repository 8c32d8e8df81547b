// CSR row gather-sum kernel vs the naive CPU reference (exact: both sum in f32 in list order): a
// plain gather with repeated and out-of-order indices, a scatter-add with shared and empty rows into
// a poisoned dst, an odd C over several workgroups, rows = 0, and the wrapper's validation.
import { describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/encoder';
import { GatherRowsKernel } from '../../src/kernels/gather_rows';
import { gatherRowsRef } from '../../src/reference/gather_rows';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal, rng } from '../helpers/random';

/** CSR lists of the scatter-add: dst row r lists every m (in increasing m) with from[m] = r. */
function scatterLists(from: number[], rows: number): { off: Uint32Array; idx: Uint32Array } {
  const off = new Uint32Array(rows + 1);
  for (const r of from) off[r + 1]++;
  for (let r = 0; r < rows; r++) off[r + 1] += off[r];
  const fill = off.slice(0, rows);
  const idx = new Uint32Array(from.length);
  from.forEach((r, m) => { idx[fill[r]++] = m; });
  return { off, idx };
}

/** Runs the kernel on src f32[S, C] with the given lists into a NaN-poisoned dst [rows, C]; checks it against the reference. */
async function check(src: Float32Array, off: Uint32Array, idx: Uint32Array, rows: number, C: number, label: string): Promise<void> {
  const ctx = await testGpu();
  const k = await GatherRowsKernel.create(ctx);
  const sb = ctx.memory.upload('src', src);
  const ob = ctx.memory.upload('off', off);
  const ib = ctx.memory.upload('idx', idx.length ? idx : new Uint32Array(1)); // no zero-size bindings
  const db = poisoned(ctx, rows * C);
  const got = await runAndRead(ctx, db, (rec) => k.encode(rec, { src: sb, off: ob, idx: ib, dst: db }, rows, C));
  expectClose(got, gatherRowsRef(src, off, idx, rows, C), 0, label);
  [sb, ob, ib, db].forEach((b) => ctx.memory.destroy(b));
}

describe('gather_rows', () => {
  it('gathers rows: one index per list, repeated and out of order', async () => {
    const [T, M, C] = [9, 7, 8];
    const idx = Uint32Array.from([3, 0, 8, 3, 5, 3, 1]);
    const off = Uint32Array.from({ length: M + 1 }, (_, i) => i);
    await check(normal(1, T * C), off, idx, M, C, 'gather');
  });

  it('scatter-adds rows: several sources for one row, empty rows written as zeros', async () => {
    const [T, C] = [7, 6];
    const from = [2, 4, 0, 4, 4, 0, 4, 4, 4, 0]; // M = 10 gradient rows; rows 1, 3, 5, 6 get nothing
    const { off, idx } = scatterLists(from, T);
    expect(Array.from(off)).toEqual([0, 3, 3, 4, 4, 10, 10, 10]);
    const src = normal(2, from.length * C);
    await check(src, off, idx, T, C, 'scatter-add');
    const want = gatherRowsRef(src, off, idx, T, C);
    expect(want.subarray(1 * C, 2 * C).every((x) => x === 0)).toBe(true);
  });

  it('odd C = 13 over several workgroups, random lists', async () => {
    const [S, rows, C] = [50, 100, 13]; // 1300 elements: 6 workgroups, a partial last one
    const r = rng(3);
    const from = Array.from({ length: 160 }, () => Math.floor(r() * rows));
    const { off, idx } = scatterLists(from, rows);
    for (let e = 0; e < idx.length; e++) idx[e] = (idx[e] * 7) % S; // sources repeat across rows
    await check(normal(4, S * C), off, idx, rows, C, 'odd C');
  });

  it('one-float rows (C = 1) and a single empty row', async () => {
    await check(normal(5, 4), Uint32Array.from([0, 2, 2, 3]), Uint32Array.from([3, 1, 0]), 3, 1, 'C=1');
    await check(normal(6, 4), Uint32Array.from([0, 0]), new Uint32Array(0), 1, 4, 'empty');
  });

  it('rows = 0 dispatches nothing', async () => {
    const ctx = await testGpu();
    const k = await GatherRowsKernel.create(ctx);
    const b = ctx.memory.create('x', 16);
    const rec = new Recorder(ctx, 'test');
    k.encode(rec, { src: b, off: b, idx: b, dst: b }, 0, 5);
    expect(rec.dispatches).toBe(0);
    rec.discard();
    ctx.memory.destroy(b);
  });

  it('rejects rows < 0 or C < 1, naming the numbers, before encoding anything', async () => {
    const ctx = await testGpu();
    const k = await GatherRowsKernel.create(ctx);
    const b = ctx.memory.create('x', 16);
    const rec = new Recorder(ctx, 'test');
    const bs = { src: b, off: b, idx: b, dst: b };
    expect(() => k.encode(rec, bs, -1, 4)).toThrow(/rows -1, C 4/);
    expect(() => k.encode(rec, bs, 3, 0)).toThrow(/rows 3, C 0/);
    expect(() => k.encode(rec, bs, 2.5, 4)).toThrow(/rows 2\.5, C 4/);
    expect(rec.dispatches).toBe(0);
    rec.discard();
    ctx.memory.destroy(b);
  });
});
