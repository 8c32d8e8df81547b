// Causal GQA attention backward (dq then dk/dv, training layout) vs the naive f64 reference and vs
// tf.grad of the forward written in tf ops (per-sequence causal softmax, GQA by repeating k/v heads):
// odd shapes, sequences in permuted cache slots, queries/pairs past one 64-wide block, Qwen heads;
// the dq half by KV-head group and by head, the dk/dv half by 4 lanes per pair and by thread.
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionKernel } from '../../src/kernels/attention';
import { AttentionBackwardKernel, checkTrainingLayout, dqByGroup, trainingSlotPos } from '../../src/kernels/attention_backward';
import { attentionRef } from '../../src/reference/attention';
import { attentionBackwardRef } from '../../src/reference/attention_backward';
import { Recorder } from '../../src/gpu/encoder';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { tfCpu, type Tensor } from '../helpers/tf';

interface Case { name: string; S: number; Ts: number; H: number; K: number; D: number; L: number; slots: number[] }

const CASES: Case[] = [
  { name: '2 sequences × 5 tokens, D=12 H=4 K=2, slots [2, 0]', S: 2, Ts: 5, H: 4, K: 2, D: 12, L: 7, slots: [2, 0] },
  { name: '3 sequences × 3 tokens, H=K=2 D=8', S: 3, Ts: 3, H: 2, K: 2, D: 8, L: 3, slots: [0, 1, 2] },
  { name: '1 sequence × 70 tokens (> one 64-key block), H=4 K=1 D=16', S: 1, Ts: 70, H: 4, K: 1, D: 16, L: 72, slots: [0] },
  { name: 'Qwen H=12 K=2 D=128, 2 sequences × 6 tokens', S: 2, Ts: 6, H: 12, K: 2, D: 128, L: 8, slots: [0, 1] },
  { name: 'D=256 (two dims per thread) H=2 K=1, 1 sequence × 9 tokens', S: 1, Ts: 9, H: 2, K: 1, D: 256, L: 9, slots: [0] },
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('attention_backward worst relative errors', worst); });

/** The cache as rope_kv leaves it: each token's k/v columns at (slot, pos); other positions random. */
function cacheFrom(qkv: Float32Array, c: Case, slot: Int32Array, pos: Int32Array): { kc: Float32Array; vc: Float32Array } {
  const B = Math.max(...c.slots) + 1;
  const kc = normal(91, B * c.L * c.K * c.D, 3);
  const vc = normal(92, B * c.L * c.K * c.D, 3);
  const row = (c.H + 2 * c.K) * c.D;
  for (let t = 0; t < slot.length; t++) {
    for (let g = 0; g < c.K; g++) {
      const dst = ((slot[t] * c.L + pos[t]) * c.K + g) * c.D;
      kc.set(qkv.subarray(t * row + (c.H + g) * c.D, t * row + (c.H + g + 1) * c.D), dst);
      vc.set(qkv.subarray(t * row + (c.H + c.K + g) * c.D, t * row + (c.H + c.K + g + 1) * c.D), dst);
    }
  }
  return { kc, vc };
}

/** dqkv [T, (H+2K)·D] = tf.grad of Σ out·dout, out = causal GQA attention of each sequence */
async function tfBackward(qkv: Float32Array, dout: Float32Array, c: Case): Promise<Float32Array> {
  const tf = await tfCpu();
  const { S, Ts, H, K, D } = c;
  const G = H / K;
  return tf.tidy(() => {
    const mask = tf.tensor2d(Array.from({ length: Ts * Ts }, (_, i) => (i % Ts <= Math.floor(i / Ts) ? 0 : -1e9)), [Ts, Ts]);
    const heads = (x: Tensor, from: number, n: number) => x.slice([0, 0, from, 0], [S, Ts, n, D]).transpose([0, 2, 1, 3]); // [S, n, Ts, D]
    const repeat = (x: Tensor) => x.reshape([S * K, 1, Ts, D]).tile([1, G, 1, 1]).reshape([S, H, Ts, D]); // head h uses kv head h / G
    const f = (x: Tensor) => {
      const r = x.reshape([S, Ts, H + 2 * K, D]);
      const q = heads(r, 0, H);
      const k = repeat(heads(r, H, K));
      const v = repeat(heads(r, H + K, K));
      const p = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D)).add(mask));
      return tf.matMul(p, v).transpose([0, 2, 1, 3]).reshape([S * Ts, H * D]);
    };
    return tf.grad(f)(tf.tensor2d(qkv, [S * Ts, (H + 2 * K) * D]), tf.tensor2d(dout, [S * Ts, H * D])).dataSync() as Float32Array;
  });
}

describe('attention_backward', () => {
  // the defaults (dq by group, dk/dv by lanes), then the per-head / per-thread kernels they replace
  for (const c of CASES) for (const [dq, dkv] of [['group', 'lanes'], ['head', 'thread']] as const) {
    if (dq === 'group' && !dqByGroup(c.H, c.K, c.D)) continue;
    it(`${c.name}, dq by ${dq}, dk/dv by ${dkv} (reference and tf.grad)`, async () => {
      const ctx = await testGpu();
      const { H, K, D, Ts } = c;
      const T = c.S * Ts;
      const { slot, pos } = trainingSlotPos(c.S, Ts, c.slots);
      checkTrainingLayout(slot, pos, Ts);
      const qkv = normal(T * 13 + D, T * (H + 2 * K) * D);
      const dout = normal(T * 17 + D, T * H * D);
      const { kc, vc } = cacheFrom(qkv, c, slot, pos);
      const fwd = attentionRef(qkv, kc, vc, slot, pos, T, H, K, D, c.L);
      const k = await AttentionBackwardKernel.create(ctx);
      k.dqVariant = dq;
      k.dkvVariant = dkv;
      const b = {
        qkv: ctx.memory.upload('qkv', qkv), out: ctx.memory.upload('out', fwd.out), lse: ctx.memory.upload('lse', fwd.lse),
        dout: ctx.memory.upload('dout', dout), dqkv: poisoned(ctx, qkv.length), delta: poisoned(ctx, T * H),
      };
      const got = await runAndRead(ctx, b.dqkv, (rec) => k.encode(rec, { T, H, K, D, Ts, L: c.L }, b));
      const ref = attentionBackwardRef(qkv, kc, vc, slot, pos, fwd.out, fwd.lse, dout, T, H, K, D, c.L);
      worst[`${c.name} ${dq}/${dkv} vs ref`] = expectClose(got, ref, 2e-6, `${c.name} vs reference`).rel;
      worst[`${c.name} ${dq}/${dkv} vs tf`] = expectClose(got, await tfBackward(qkv, dout, c), 1e-5, `${c.name} vs tf.grad`).rel;
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }

  it('chained after the GPU forward (its out and lse), Qwen heads, vs tf.grad', async () => {
    const ctx = await testGpu();
    const c = CASES[3];
    const { H, K, D, Ts } = c;
    const T = c.S * Ts;
    const { slot, pos } = trainingSlotPos(c.S, Ts, [1, 0]);
    const qkv = normal(77, T * (H + 2 * K) * D);
    const dout = normal(78, T * H * D);
    const { kc, vc } = cacheFrom(qkv, { ...c, slots: [1, 0] }, slot, pos);
    const [fwd, bwd] = await Promise.all([AttentionKernel.create(ctx), AttentionBackwardKernel.create(ctx)]);
    const b = {
      qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc), vc: ctx.memory.upload('vc', vc),
      slot: ctx.memory.upload('slot', slot), pos: ctx.memory.upload('pos', pos), out: poisoned(ctx, T * H * D), lse: poisoned(ctx, T * H),
      dout: ctx.memory.upload('dout', dout), dqkv: poisoned(ctx, qkv.length), delta: poisoned(ctx, T * H),
    };
    const got = await runAndRead(ctx, b.dqkv, (rec) => {
      fwd.encode(rec, { T, H, K, D, L: c.L }, b);
      bwd.encode(rec, { T, H, K, D, Ts, L: c.L }, b);
    });
    worst['chained after GPU forward vs tf'] = expectClose(got, await tfBackward(qkv, dout, c), 1e-5, 'chained vs tf.grad').rel;
    Object.values(b).forEach((x) => ctx.memory.destroy(x));
  });

  it('rejects T not a multiple of Ts, L < Ts and head_dim > 256 with the numbers', async () => {
    const ctx = await testGpu();
    const k = await AttentionBackwardKernel.create(ctx);
    const buf = ctx.memory.create('x', 16);
    const b = { qkv: buf, out: buf, lse: buf, dout: buf, dqkv: buf, delta: buf };
    const rec = new Recorder(ctx, 'test');
    expect(() => k.encode(rec, { T: 10, H: 2, K: 1, D: 8, Ts: 4 }, b)).toThrow(/T=10, Ts=4/);
    expect(() => k.encode(rec, { T: 8, H: 2, K: 1, D: 8, Ts: 4, L: 3 }, b)).toThrow(/3 positions per slot/);
    expect(() => k.encode(rec, { T: 8, H: 2, K: 1, D: 512, Ts: 4 }, b)).toThrow(/D=512/);
    expect(rec.dispatches).toBe(0);
    ctx.memory.destroy(buf);
  });

  it('dq by group where G ≤ 8, D % 4 = 0 and G·(D/4+1) ≤ 264 (every Qwen2.5 size), else by head', () => {
    expect(dqByGroup(12, 2, 128)).toBe(true); // 1.5B
    expect(dqByGroup(14, 2, 64)).toBe(true); // 0.5B
    expect(dqByGroup(16, 2, 128)).toBe(true); // 3B: 8 · 33 = 264
    expect(dqByGroup(8, 1, 256)).toBe(false);
    expect(dqByGroup(18, 2, 128)).toBe(false);
    expect(dqByGroup(4, 2, 10)).toBe(false);
  });

  it('checkTrainingLayout accepts trainingSlotPos and names the first bad token', () => {
    const { slot, pos } = trainingSlotPos(2, 3, [4, 1]);
    expect([...slot]).toEqual([4, 4, 4, 1, 1, 1]);
    expect([...pos]).toEqual([0, 1, 2, 0, 1, 2]);
    expect(() => checkTrainingLayout(slot, pos, 3)).not.toThrow();
    expect(() => checkTrainingLayout(slot, Int32Array.from([0, 1, 2, 0, 2, 2]), 3)).toThrow(/token 4: slot 1, pos 2/);
    expect(() => checkTrainingLayout(Int32Array.from([0, 0, 0, 0, 0, 0]), pos, 3)).toThrow(/slot 0 is used by two sequences/);
    expect(() => checkTrainingLayout(slot, pos, 4)).toThrow(/multiple of Ts=4/);
  });
});
