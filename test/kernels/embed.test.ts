// Embedding gather kernel vs the naive CPU reference for bf16 and i8 tables (exact: a gather does
// no arithmetic beyond the i8 scale), odd shapes, Qwen2.5-1.5B's hidden size, tables split into
// row parts, and the NaN row an invalid id produces.
import { afterAll, describe, expect, it } from 'vitest';
import { EmbedKernel, checkIds } from '../../src/kernels/embed';
import { destroyWeight, uploadWeight } from '../../src/kernels/matmul';
import { embedRef } from '../../src/reference/embed';
import { packWeight, rowBytes, type WeightFormat } from '../../src/formats/weights';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal, rng } from '../helpers/random';

interface Case { name: string; T: number; V: number; C: number; rowsPerPart?: number }

const CASES: Case[] = [
  { name: 'odd T=7 V=37 C=160', T: 7, V: 37, C: 160 },
  { name: 'one token T=1 V=1 C=8', T: 1, V: 1, C: 8 },
  { name: 'Qwen2.5-1.5B hidden T=5 V=200 C=1536', T: 5, V: 200, C: 1536 },
  { name: 'split into 64-row parts T=9 V=300 C=64', T: 9, V: 300, C: 64, rowsPerPart: 64 },
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('embed worst relative errors', worst); });

function randomIds(seed: number, T: number, V: number): Int32Array {
  const r = rng(seed);
  const ids = Int32Array.from({ length: T }, () => Math.floor(r() * V));
  if (T > 2) { ids[T - 1] = V - 1; ids[T - 2] = 0; ids[1] = ids[0]; } // both ends of the table, a repeat
  return ids;
}

describe('embed', () => {
  for (const format of ['bf16', 'i8'] as WeightFormat[]) {
    for (const c of CASES) {
      it(`${format} ${c.name}`, async () => {
        const ctx = await testGpu();
        const k = await EmbedKernel.create(ctx);
        const host = packWeight(format, normal(c.V + c.C, c.V * c.C, 0.05), c.V, c.C);
        const maxBinding = c.rowsPerPart ? c.rowsPerPart * rowBytes(format, c.C) : undefined;
        const e = uploadWeight(ctx, host, 'embed', undefined, maxBinding);
        if (c.rowsPerPart) expect(e.parts.length).toBe(Math.ceil(c.V / c.rowsPerPart));
        const ids = randomIds(c.T + c.V, c.T, c.V);
        checkIds(ids, c.V);
        const idb = ctx.memory.upload('ids', ids);
        const out = poisoned(ctx, c.T * c.C);
        const y = await runAndRead(ctx, out, (rec) => k.encode(rec, idb, e, out, c.T));
        worst[`${format} ${c.name}`] = expectClose(y, embedRef(ids, host, c.T), 0, c.name).rel;
        destroyWeight(ctx, e);
        [idb, out].forEach((b) => ctx.memory.destroy(b));
      });
    }
  }

  it('an id outside [0, V) gives a NaN row (never a clamped one); checkIds rejects it on the CPU', async () => {
    const ctx = await testGpu();
    const k = await EmbedKernel.create(ctx);
    const [V, C] = [130, 16];
    const host = packWeight('bf16', normal(4, V * C), V, C);
    const e = uploadWeight(ctx, host, 'embed', undefined, 64 * rowBytes('bf16', C)); // 3 parts
    const ids = Int32Array.from([3, V, -1, 129]);
    expect(() => checkIds(ids, V)).toThrow(/token id 130 at position 1 is outside the vocabulary \[0, 130\)/);
    const idb = ctx.memory.upload('ids', ids);
    const out = poisoned(ctx, 4 * C);
    const y = await runAndRead(ctx, out, (rec) => k.encode(rec, idb, e, out, 4));
    const want = embedRef(Int32Array.from([3, 129]), host, 2);
    expect(Array.from(y.slice(0, C))).toEqual(Array.from(want.slice(0, C)));
    expect(Array.from(y.slice(3 * C))).toEqual(Array.from(want.slice(C)));
    expect(y.slice(C, 3 * C).every(Number.isNaN)).toBe(true);
    destroyWeight(ctx, e);
    [idb, out].forEach((b) => ctx.memory.destroy(b));
  });

  it('rejects q4 tables with a hint', async () => {
    const ctx = await testGpu();
    const k = await EmbedKernel.create(ctx);
    const e = uploadWeight(ctx, packWeight('q4', normal(5, 64 * 64), 64, 64), 'embed');
    expect(() => k.encode({} as never, {} as never, e, {} as never, 1)).toThrow(/bf16 or i8.*got q4/);
    destroyWeight(ctx, e);
  });
});
