// RoPE + KV-cache write vs the reference: tokens of two slots at scattered positions (q, k rotated in
// qkv; rotated k and v in the cache; untouched cells keep their values); a position past the cache
// or the RoPE table makes that token's q and k NaN and writes no cache cell; with fan (the training
// layout's shared prompt rows) a token's k and v go to fan[t] neighbouring slots.
import { describe, expect, it } from 'vitest';
import { RopeKvKernel } from '../../src/kernels/rope_kv';
import { uploadRopeTable } from '../../src/kernels/rope';
import { ropeKvRef } from '../../src/reference/rope_kv';
import { readF32 } from '../../src/gpu/buffers';
import { expectClose } from '../helpers/compare';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

describe('rope_kv', () => {
  for (const [name, H, K, D, theta] of [['odd D=12 H=4 K=2', 4, 2, 12, 10000], ['Qwen H=12 K=2 D=128', 12, 2, 128, 1e6]] as const) {
    it(name, async () => {
      const ctx = await testGpu();
      const [T, B, L] = [5, 2, 9];
      const qkv = normal(1, T * (H + 2 * K) * D);
      const slot = Int32Array.from([0, 1, 1, 0, 1]);
      const pos = Int32Array.from([3, 0, 8, 4, 5]);
      const kc0 = normal(2, B * L * K * D);
      const vc0 = normal(3, B * L * K * D);
      const k = await RopeKvKernel.create(ctx);
      const table = uploadRopeTable(ctx, theta, D, 16);
      const b = { qkv: ctx.memory.upload('qkv', qkv), slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos), kc: ctx.memory.upload('kc', kc0), vc: ctx.memory.upload('vc', vc0) };
      const out = await runAndRead(ctx, b.qkv, (rec) => k.encode(rec, { T, H, K, D, L }, table, b));
      const [kc, vc] = [await readF32(ctx.device, b.kc, kc0.length), await readF32(ctx.device, b.vc, vc0.length)];
      const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)];
      const want = ropeKvRef(qkv, slot, pos, rk, rv, { T, H, K, D, L, theta });
      expectClose(out, want, 1e-6, 'qkv rotated in place');
      expectClose(kc, rk, 1e-6, 'k cache');
      expectClose(vc, rv, 0, 'v cache');
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
      ctx.memory.destroy(table.buffer);
    });
  }

  it('fan: shared prompt rows write their k and v into every branch slot', async () => {
    const ctx = await testGpu();
    const [H, K, D, T, B, L] = [4, 2, 12, 6, 3, 5];
    const qkv = normal(7, T * (H + 2 * K) * D);
    const slot = Int32Array.from([0, 0, 0, 1, 2, 2]); // 2 prompt rows fanned to slots 0..2, then branch rows
    const pos = Int32Array.from([0, 1, 2, 2, 2, 3]);
    const fan = Int32Array.from([3, 3, 1, 1, 1, 1]);
    const kc0 = normal(8, B * L * K * D);
    const vc0 = normal(9, B * L * K * D);
    const k = await RopeKvKernel.create(ctx);
    const table = uploadRopeTable(ctx, 1e6, D, 8);
    const b = { qkv: ctx.memory.upload('qkv', qkv), slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos), kc: ctx.memory.upload('kc', kc0), vc: ctx.memory.upload('vc', vc0), fan: ctx.memory.upload('fan', fan) };
    const out = await runAndRead(ctx, b.qkv, (rec) => k.encode(rec, { T, H, K, D, L }, table, b));
    const [kc, vc] = [await readF32(ctx.device, b.kc, kc0.length), await readF32(ctx.device, b.vc, vc0.length)];
    const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)];
    const want = ropeKvRef(qkv, slot, pos, rk, rv, { T, H, K, D, L, theta: 1e6 }, fan);
    expectClose(out, want, 1e-6, 'qkv rotated in place');
    expectClose(kc, rk, 1e-6, 'k cache');
    expectClose(vc, rv, 0, 'v cache');
    // slot 2, position 1 holds prompt row 1's v (the fan reached it)
    const row = (H + 2 * K) * D;
    expect(Array.from(vc.subarray(((2 * L + 1) * K) * D, ((2 * L + 1) * K + K) * D))).toEqual(Array.from(qkv.subarray(row + (H + K) * D, row + (H + 2 * K) * D)));
    Object.values(b).forEach((x) => ctx.memory.destroy(x));
    ctx.memory.destroy(table.buffer);
  });

  it('a position outside the cache makes that token loud (NaN q, k) and writes nothing', async () => {
    const ctx = await testGpu();
    const [H, K, D, T, L] = [2, 1, 8, 2, 4];
    const W = (H + 2 * K) * D;
    const qkv = normal(4, T * W);
    const kc0 = normal(5, L * K * D);
    const vc0 = normal(6, L * K * D);
    const k = await RopeKvKernel.create(ctx);
    const table = uploadRopeTable(ctx, 10000, D, 16); // the table reaches 16, the cache only 4
    const b = { qkv: ctx.memory.upload('qkv', qkv), slot: ctx.memory.upload('slot', new Int32Array(T)), pos: ctx.memory.upload('pos', Int32Array.of(1, 4)), kc: ctx.memory.upload('kc', kc0), vc: ctx.memory.upload('vc', vc0) };
    const out = await runAndRead(ctx, b.qkv, (rec) => k.encode(rec, { T, H, K, D, L }, table, b));
    expect(out.subarray(W, W + (H + K) * D).every(Number.isNaN)).toBe(true);
    expect(Array.from(out.subarray(W + (H + K) * D, 2 * W))).toEqual(Array.from(qkv.subarray(W + (H + K) * D, 2 * W))); // v untouched
    expect(out.subarray(0, W).some(Number.isNaN)).toBe(false);
    const kc = await readF32(ctx.device, b.kc, kc0.length);
    const vc = await readF32(ctx.device, b.vc, vc0.length);
    for (const p of [0, 2, 3]) expect(Array.from(kc.subarray(p * D, (p + 1) * D))).toEqual(Array.from(kc0.subarray(p * D, (p + 1) * D)));
    expect(Array.from(vc.subarray(3 * D, 4 * D))).toEqual(Array.from(vc0.subarray(3 * D, 4 * D)));
    Object.values(b).forEach((x) => ctx.memory.destroy(x));
    ctx.memory.destroy(table.buffer);
  });
});
