// Causal GQA attention backward (dq then dk/dv, training layout) vs the naive f64 reference and vs
// tf.grad of the forward written in tf ops (one masked softmax over all rows: each query row's keys
// from the layout, GQA by repeating k/v heads): odd shapes, prompts shared by several branches and
// not, queries/pairs past one 64-wide block, Qwen heads; the dq half by KV-head group and by head,
// the dk/dv half by 4 lanes per pair and by thread.
import { afterAll, describe, expect, it } from 'vitest';
import { AttentionKernel } from '../../src/kernels/attention';
import { AttentionBackwardKernel, dkvKeysFitting, dkvLanesBytes, dkvSplit, dqByGroup } from '../../src/kernels/attention_backward';
import { attentionRef } from '../../src/reference/attention';
import { attentionBackwardRef } from '../../src/reference/attention_backward';
import { kvWriteRef } from '../../src/reference/rope_kv';
import { keysOf, maxQueries, trainLayout, type TrainLayout } from '../../src/model/train-layout';
import { Recorder } from '../../src/gpu/encoder';
import { expectClose } from '../helpers/compare';
import { poisoned, runAndRead, testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { tfCpu, type Tensor } from '../helpers/tf';

/** units: [prompt length, branches]; Tc completion columns (branches of Tc − 1 rows); share: false lays every sequence out alone */
interface Case { name: string; units: [number, number][]; Tc: number; H: number; K: number; D: number; share?: boolean }

const CASES: Case[] = [
  { name: '2 prompts × 2 branches, D=12 H=4 K=2', units: [[3, 2], [2, 2]], Tc: 3, H: 4, K: 2, D: 12 },
  { name: '3 sequences alone × 3 rows, H=K=2 D=8', units: [[2, 3]], Tc: 2, H: 2, K: 2, D: 8, share: false },
  { name: '1 sequence × 70 rows (> one 64-key block), H=4 K=1 D=16', units: [[30, 1]], Tc: 41, H: 4, K: 1, D: 16 },
  { name: '40-row prompt × 3 branches of 30 (> 64 queries per prompt key), H=4 K=1 D=16', units: [[40, 3]], Tc: 31, H: 4, K: 1, D: 16 },
  { name: 'Qwen H=12 K=2 D=128, 1 prompt × 3 branches', units: [[4, 3]], Tc: 4, H: 12, K: 2, D: 128 },
  { name: 'D=256 (two dims per thread) H=2 K=1, 1 prompt × 2 branches', units: [[5, 2]], Tc: 5, H: 2, K: 1, D: 256 },
  { name: 'prompt of 1 token, completions of 1 column (no branch rows)', units: [[1, 2], [2, 1]], Tc: 1, H: 2, K: 1, D: 8 },
];

const worst: Record<string, number> = {};
afterAll(() => { if (process.env.TABZERO_ERRORS) console.log('attention_backward worst relative errors', worst); });

/** the case's layout: unit u's prompt is u+1 repeated, completions are ids of their own */
function layoutOf(c: Case): TrainLayout {
  const seqs = c.units.flatMap(([P, n], u) => Array.from({ length: n }, (_, i) => ({ prompt: Array(P).fill(u + 1), completion: Array.from({ length: c.Tc }, (_, j) => 100 + 10 * i + j) })));
  return trainLayout(seqs, 0, c.Tc, c.share ?? true);
}

/** The cache as rope_kv leaves it: each row's k/v columns at (slot + c, pos) for c < fan; other positions random. */
function cacheFrom(qkv: Float32Array, c: Case, lay: TrainLayout): { kc: Float32Array; vc: Float32Array } {
  const kc = normal(91, lay.B * lay.L * c.K * c.D, 3);
  const vc = normal(92, lay.B * lay.L * c.K * c.D, 3);
  kvWriteRef(qkv, lay.slot, lay.pos, kc, vc, { T: lay.T, H: c.H, K: c.K, D: c.D, L: lay.L }, lay.fan);
  return { kc, vc };
}

/** dqkv [T, (H+2K)·D] = tf.grad of Σ out·dout, out = GQA attention of every row over its layout keys */
async function tfBackward(qkv: Float32Array, dout: Float32Array, c: Case, lay: TrainLayout): Promise<Float32Array> {
  const tf = await tfCpu();
  const { H, K, D } = c;
  const T = lay.T;
  const G = H / K;
  const allowed = new Float32Array(T * T).fill(-1e9);
  for (let t = 0; t < T; t++) for (const k of keysOf(lay.spans, t)) allowed[t * T + k] = 0;
  return tf.tidy(() => {
    const mask = tf.tensor2d(allowed, [T, T]);
    const heads = (x: Tensor, from: number, n: number) => x.slice([0, from, 0], [T, n, D]).transpose([1, 0, 2]); // [n, T, D]
    const repeat = (x: Tensor) => x.reshape([K, 1, T, D]).tile([1, G, 1, 1]).reshape([H, T, D]); // head h uses kv head h / G
    const f = (x: Tensor) => {
      const r = x.reshape([T, H + 2 * K, D]);
      const q = heads(r, 0, H);
      const k = repeat(heads(r, H, K));
      const v = repeat(heads(r, H + K, K));
      const p = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(D)).add(mask));
      return tf.matMul(p, v).transpose([1, 0, 2]).reshape([T, H * D]);
    };
    return tf.grad(f)(tf.tensor2d(qkv, [T, (H + 2 * K) * D]), tf.tensor2d(dout, [T, H * D])).dataSync() as Float32Array;
  });
}

describe('attention_backward', () => {
  // the defaults (dq by group, dk/dv by lanes), then the per-head / per-thread kernels they replace
  // pairs: the dk/dv of keys with more (query, head) pairs split over workgroups of that many (0: not split)
  // (the 128-thread split only where a prompt is shared by several branches: CI time)
  for (const c of CASES) for (const [dq, dkv, threads, keys, pairs] of [['group', 'lanes', 128, 2, 0], ['group', 'lanes', 256, 1, 0], ['group', 'lanes', 256, 4, 0], ['group', 'lanes', 256, 4, 3], ['group', 'lanes', 128, 1, 37], ['head', 'thread', 128, 1, 3]] as const) {
    if (dq === 'group' && !dqByGroup(c.H, c.K, c.D)) continue;
    if (threads === 128 && pairs && !/prompt × 3 branches/.test(c.name)) continue;
    it(`${c.name}, dq by ${dq}, dk/dv by ${dkv}${dkv === 'lanes' ? ` (${threads} threads, ${keys} key${keys > 1 ? 's' : ''} a workgroup${pairs ? `, split into ≤ ${pairs} pairs` : ''})` : ''} (reference and tf.grad)`, async () => {
      const ctx = await testGpu();
      const { H, K, D } = c;
      const lay = layoutOf(c);
      const T = lay.T;
      const qkv = normal(T * 13 + D, T * (H + 2 * K) * D);
      const dout = normal(T * 17 + D, T * H * D);
      const { kc, vc } = cacheFrom(qkv, c, lay);
      const fwd = attentionRef(qkv, kc, vc, lay.slot, lay.pos, T, H, K, D, lay.L);
      const k = await AttentionBackwardKernel.create(ctx);
      k.dqVariant = dq;
      k.dkvVariant = dkv;
      k.dkvThreads = threads;
      k.dkvKeys = keys;
      k.dkvSplitPairs = pairs;
      const b = {
        qkv: ctx.memory.upload('qkv', qkv), out: ctx.memory.upload('out', fwd.out), lse: ctx.memory.upload('lse', fwd.lse),
        dout: ctx.memory.upload('dout', dout), dqkv: poisoned(ctx, qkv.length), delta: poisoned(ctx, T * H), spans: ctx.memory.upload('spans', lay.spans),
      };
      // a poisoned scratch: a part the reduce reads that no workgroup wrote would fail the comparison
      const scratch = poisoned(ctx, 64 * T * K * 2 * D, 'scratch');
      const split = pairs ? { scratch, maxQueries: maxQueries(lay.spans) } : undefined;
      if (split && dkv === 'lanes') expect(dkvSplit({ T, H, K, D }, split.maxQueries, pairs, scratch.size).parts > 1, 'split where a key has more pairs').toBe(split.maxQueries * (H / K) > pairs);
      const got = await runAndRead(ctx, b.dqkv, (rec) => k.encode(rec, { T, H, K, D }, b, split));
      ctx.memory.destroy(scratch);
      const ref = attentionBackwardRef(qkv, kc, vc, lay.slot, lay.pos, fwd.out, fwd.lse, dout, T, H, K, D, lay.L, lay.fan);
      worst[`${c.name} ${dq}/${dkv}${threads}/${keys} vs ref`] = expectClose(got, ref, 2e-6, `${c.name} vs reference`).rel;
      worst[`${c.name} ${dq}/${dkv}${threads}/${keys} vs tf`] = expectClose(got, await tfBackward(qkv, dout, c, lay), 1e-5, `${c.name} vs tf.grad`).rel;
      Object.values(b).forEach((x) => ctx.memory.destroy(x));
    });
  }

  it('chained after the GPU forward (its out and lse), Qwen heads, shared prompt, vs tf.grad', async () => {
    const ctx = await testGpu();
    const c = CASES[4];
    const { H, K, D } = c;
    const lay = layoutOf(c);
    const T = lay.T;
    const qkv = normal(77, T * (H + 2 * K) * D);
    const dout = normal(78, T * H * D);
    const { kc, vc } = cacheFrom(qkv, c, lay);
    const [fwd, bwd] = await Promise.all([AttentionKernel.create(ctx), AttentionBackwardKernel.create(ctx)]);
    const b = {
      qkv: ctx.memory.upload('qkv', qkv), kc: ctx.memory.upload('kc', kc), vc: ctx.memory.upload('vc', vc),
      slot: ctx.memory.upload('slot', lay.slot), pos: ctx.memory.upload('pos', lay.pos), out: poisoned(ctx, T * H * D), lse: poisoned(ctx, T * H),
      dout: ctx.memory.upload('dout', dout), dqkv: poisoned(ctx, qkv.length), delta: poisoned(ctx, T * H), spans: ctx.memory.upload('spans', lay.spans),
    };
    const got = await runAndRead(ctx, b.dqkv, (rec) => {
      fwd.encode(rec, { T, H, K, D, L: lay.L }, b);
      bwd.encode(rec, { T, H, K, D }, b);
    });
    worst['chained after GPU forward vs tf'] = expectClose(got, await tfBackward(qkv, dout, c, lay), 1e-5, 'chained vs tf.grad').rel;
    Object.values(b).forEach((x) => ctx.memory.destroy(x));
  });

  it('rejects head_dim > 256 and H not divisible by K with the numbers', async () => {
    const ctx = await testGpu();
    const k = await AttentionBackwardKernel.create(ctx);
    const buf = ctx.memory.create('x', 16);
    const b = { qkv: buf, out: buf, lse: buf, dout: buf, dqkv: buf, delta: buf, spans: buf };
    const rec = new Recorder(ctx, 'test');
    expect(() => k.encode(rec, { T: 8, H: 2, K: 1, D: 512 }, b)).toThrow(/D=512/);
    expect(() => k.encode(rec, { T: 8, H: 3, K: 2, D: 8 }, b)).toThrow(/H=3, K=2/);
    expect(rec.dispatches).toBe(0);
    ctx.memory.destroy(buf);
  });

  it('dk/dv keys a workgroup: halved until the workgroup memory fits the device (4 keys of D = 128 fit 16 KB at 256 threads; of D = 256 they do not)', () => {
    expect(dkvLanesBytes(128, 256, 4)).toBe(14848);
    expect(dkvKeysFitting(128, 256, 4, 16384)).toBe(4);
    expect(dkvLanesBytes(256, 256, 4)).toBeGreaterThan(16384);
    expect(dkvKeysFitting(256, 256, 4, 16384)).toBe(2);
    expect(dkvKeysFitting(256, 256, 4, 32768)).toBe(4);
    expect(dkvKeysFitting(256, 256, 4, 4096)).toBe(1);
  });

  it('dk/dv split: parts of ≤ dkvSplitPairs pairs where a key has more, as many as the scratch holds; none without a scratch row to spare', () => {
    const s = { T: 2168, H: 12, K: 2, D: 128 }; // G = 8 × (128 + 255) at Qwen2.5-1.5B's heads
    const part = s.T * s.K * 2 * s.D * 4;
    expect(dkvSplit(s, 2168, 2048, 2168 * 8960 * 4)).toEqual({ CH: 1859, parts: 7 }); // 13,008 pairs, in dh
    expect(dkvSplit(s, 2168, 0, 1e9)).toEqual({ CH: 0, parts: 1 });
    expect(dkvSplit(s, 300, 2048, 1e9)).toEqual({ CH: 0, parts: 1 }); // 1,800 pairs: no key over the line
    expect(dkvSplit(s, 2168, 2048, 2 * part)).toEqual({ CH: 4336, parts: 3 }); // the scratch holds 2 parts past the first
    expect(dkvSplit(s, 2168, 2048, part - 1)).toEqual({ CH: 0, parts: 1 });
  });

  it('maxQueries: the longest unit of the layout (the rows that attend its first prompt row)', () => {
    const lay = layoutOf({ name: '', units: [[3, 2], [5, 4]], Tc: 4, H: 2, K: 1, D: 8 });
    expect(maxQueries(lay.spans)).toBe(5 + 4 * 3);
    expect(maxQueries(layoutOf(CASES[1]).spans)).toBe(3); // alone: a sequence of 2 + 1 rows
  });

  it('dq by group where G ≤ 8, D % 4 = 0 and G·(D/4+1) ≤ 264 (every Qwen2.5 size), else by head', () => {
    expect(dqByGroup(12, 2, 128)).toBe(true); // 1.5B
    expect(dqByGroup(14, 2, 64)).toBe(true); // 0.5B
    expect(dqByGroup(16, 2, 128)).toBe(true); // 3B: 8 · 33 = 264
    expect(dqByGroup(8, 1, 256)).toBe(false);
    expect(dqByGroup(18, 2, 128)).toBe(false);
    expect(dqByGroup(4, 2, 10)).toBe(false);
  });
});
