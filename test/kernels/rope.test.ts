// RoPE vs the naive CPU reference: the forward rotation (run by rope_kv, in place on a fused qkv
// buffer; dense rows) and the transpose backward (any row stride), the backward also vs tf.grad of
// HF's forward (q·cos + rotate_half(q)·sin) in tf ops. The cos/sin table must equal HF's float32
// computation exactly, including late positions (~32k).
import { afterAll, describe, expect, it } from 'vitest';
import { RopeKernel, ropeTableHost, uploadRopeTable, type RopeTable } from '../../src/kernels/rope';
import { RopeKvKernel } from '../../src/kernels/rope_kv';
import { ropeBackwardRef, ropeCosSinRef, ropeRef, type RopeShape } from '../../src/reference/rope';
import type { GpuContext } from '../../src/gpu/device';
import { expectClose } from '../helpers/compare';
import { runAndRead, testGpu } from '../helpers/gpu';
import { normal, rng } from '../helpers/random';
import { tfCpu, type Tensor } from '../helpers/tf';

interface Case { name: string; T: number; s: RopeShape; positions: (T: number) => Int32Array; maxPos: number }

const randomPos = (hi: number, seed: number) => (T: number) => { const r = rng(seed); return Int32Array.from({ length: T }, () => Math.floor(r() * hi)); };
const seqPos = (start: number) => (T: number) => Int32Array.from({ length: T }, (_, t) => start + t);

const CASES: Case[] = [
  { name: 'odd T=7 H=3 K=1 D=8, random positions', T: 7, s: { H: 3, K: 1, D: 8, theta: 10000 }, positions: randomPos(50, 1), maxPos: 50 },
  { name: 'padded rows T=3 H=2 K=1 D=16 ld=69', T: 3, s: { H: 2, K: 1, D: 16, theta: 10000, ld: 69 }, positions: seqPos(5), maxPos: 8 },
  { name: 'Qwen2.5-1.5B T=5 H=12 K=2 D=128', T: 5, s: { H: 12, K: 2, D: 128, theta: 1e6 }, positions: seqPos(0), maxPos: 64 },
  { name: 'Qwen2.5-1.5B late positions T=4 near 32k', T: 4, s: { H: 12, K: 2, D: 128, theta: 1e6 }, positions: randomPos(32768, 2), maxPos: 32768 },
];

const worst: Record<string, number> = {};

/** The forward rotation in place on qkv [T, (H+2K)·D], by rope_kv (its cache write to a scratch cache of one slot and L = table.maxPos). */
async function ropeForward(ctx: GpuContext, qkv: GPUBuffer, pos: GPUBuffer, table: RopeTable, T: number, s: RopeShape): Promise<Float32Array> {
  const k = await RopeKvKernel.create(ctx);
  const cache = s.K * s.D * table.maxPos;
  const kc = ctx.memory.create('kc', cache * 4);
  const vc = ctx.memory.create('vc', cache * 4);
  const slot = ctx.memory.upload('slot', new Int32Array(T));
  const y = await runAndRead(ctx, qkv, (rec) => k.encode(rec, { T, H: s.H, K: s.K, D: s.D, L: table.maxPos }, table, { qkv, slot, pos, kc, vc }));
  [kc, vc, slot].forEach((b) => ctx.memory.destroy(b));
  return y;
}
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('rope worst relative errors', worst); });

/** dx [T, ld] = tf.grad of HF's rotary forward (x·cos + rotate_half(x)·sin on q and k heads) applied to dy */
async function tfBackward(dy: Float32Array, pos: Int32Array, T: number, s: RopeShape): Promise<Float32Array> {
  const tf = await tfCpu();
  const { H, K, D } = s;
  const half = D / 2;
  const W = (H + 2 * K) * D;
  const ld = s.ld ?? W;
  const { cos, sin } = ropeCosSinRef(s.theta, D, Math.max(...pos) + 1);
  const gather = (tab: Float32Array) => {
    const out = new Float32Array(T * D);
    for (let t = 0; t < T; t++) for (let i = 0; i < D; i++) out[t * D + i] = tab[pos[t] * half + (i % half)]; // cat(freqs, freqs)
    return out;
  };
  return tf.tidy(() => {
    const c = tf.tensor3d(gather(cos), [T, 1, D]);
    const sn = tf.tensor3d(gather(sin), [T, 1, D]);
    const f = (x: Tensor) => {
      const heads = x.slice([0, 0], [T, W]).reshape([T, H + 2 * K, D]);
      const qk = heads.slice([0, 0, 0], [T, H + K, D]);
      const rot = tf.concat([qk.slice([0, 0, half], [T, H + K, half]).neg(), qk.slice([0, 0, 0], [T, H + K, half])], 2);
      const y = qk.mul(c).add(rot.mul(sn));
      const out = tf.concat([y, heads.slice([0, H + K, 0], [T, K, D])], 1).reshape([T, W]);
      return ld > W ? tf.concat([out, x.slice([0, W], [T, ld - W])], 1) : out;
    };
    return tf.grad(f)(tf.tensor2d(dy, [T, ld]), tf.tensor2d(dy, [T, ld])).dataSync() as Float32Array;
  });
}

describe('rope', () => {
  it('the cos/sin table equals HF float32 computation exactly (theta 1e6, D 128, 32k positions)', () => {
    const [theta, D, P] = [1e6, 128, 32768];
    const table = ropeTableHost(theta, D, P);
    const { cos, sin } = ropeCosSinRef(theta, D, P);
    const half = D / 2;
    let mismatches = 0;
    for (let j = 0; j < P * half; j++) if (table[2 * j] !== cos[j] || table[2 * j + 1] !== sin[j]) mismatches++;
    expect(mismatches).toBe(0);
    // spot values: inv_freq[1] = 1e6^(-1/64) in f32; position 1 → cos(inv_freq)
    expect(table[2 * (1 * half + 1)]).toBe(Math.fround(Math.cos(Math.fround(1 / Math.fround(1e6 ** Math.fround(2 / 128))))));
  });

  for (const c of CASES) {
    const { T, s } = c;
    const ld = s.ld ?? (s.H + 2 * s.K) * s.D;
    // the forward kernel (rope_kv) takes dense rows only
    if (!s.ld) {
      it(`forward ${c.name}`, async () => {
        const ctx = await testGpu();
        const pos = c.positions(T);
        const x = normal(T * 3 + s.D, T * ld);
        const table = uploadRopeTable(ctx, s.theta, s.D, c.maxPos);
        const xb = ctx.memory.upload('qkv', x);
        const pb = ctx.memory.upload('pos', pos);
        const y = await ropeForward(ctx, xb, pb, table, T, s);
        worst[`forward ${c.name}`] = expectClose(y, ropeRef(x, pos, T, s), 1e-6, c.name).rel;
        [xb, pb, table.buffer].forEach((b) => ctx.memory.destroy(b));
      });
    }

    it(`backward ${c.name} (reference, tf.grad, inverse of forward)`, async () => {
      const ctx = await testGpu();
      const k = await RopeKernel.create(ctx);
      const pos = c.positions(T);
      const dy = normal(T * 5 + s.D, T * ld);
      const table = uploadRopeTable(ctx, s.theta, s.D, c.maxPos);
      const db = ctx.memory.upload('dqkv', dy);
      const pb = ctx.memory.upload('pos', pos);
      const dx = await runAndRead(ctx, db, (rec) => k.encodeBackward(rec, db, pb, table, T, s.H, s.K, s.ld));
      worst[`backward ${c.name} vs ref`] = expectClose(dx, ropeBackwardRef(dy, pos, T, s), 1e-6, `${c.name} vs reference`).rel;
      worst[`backward ${c.name} vs tf`] = expectClose(dx, await tfBackward(dy, pos, T, s), 1e-6, `${c.name} vs tf.grad`).rel;
      // the rotation is orthogonal: forward(backward(dy)) = dy
      worst[`roundtrip ${c.name}`] = expectClose(ropeRef(dx, pos, T, s), dy, 1e-6, `${c.name} round trip`).rel;
      [db, pb, table.buffer].forEach((b) => ctx.memory.destroy(b));
    });
  }

  it('a position outside the table writes NaN into that token\'s q and k heads only', async () => {
    const ctx = await testGpu();
    const s = { H: 2, K: 1, D: 8, theta: 10000 };
    const [T, ld] = [3, 32];
    const x = normal(9, T * ld);
    const table = uploadRopeTable(ctx, s.theta, s.D, 4);
    const xb = ctx.memory.upload('qkv', x);
    const pb = ctx.memory.upload('pos', Int32Array.from([0, 4, -1]));
    const y = await ropeForward(ctx, xb, pb, table, T, s);
    expect(y.slice(0, 24).every(Number.isFinite)).toBe(true);
    for (const t of [1, 2]) {
      expect(y.slice(t * ld, t * ld + 24).every(Number.isNaN)).toBe(true);
      expect(Array.from(y.slice(t * ld + 24, t * ld + 32))).toEqual(Array.from(x.slice(t * ld + 24, t * ld + 32)));
    }
    [xb, pb, table.buffer].forEach((b) => ctx.memory.destroy(b));
  });
});
