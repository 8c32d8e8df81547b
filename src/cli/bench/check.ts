// `tabzero bench-check`: the matmul kernels on this machine's GPU against the naive CPU reference —
// every GEMV layout (rows per lane group × lanes × 8- or 32-weight steps) at M = 1…16 with the whole
// epilogue (bias, residual accumulate, LoRA with q|k|v slices; the RMSNorm fused where the device
// binds enough buffers; the LoRA term summed by the lanes or stored), the tiled kernels with 4 and 8
// rows per thread and split over K, bf16 weights (the LM head), the SwiGLU fused into the x reads,
// the down GEMV saving its rows, and the dense f32 GEMV of the LoRA u (both grids); the attention backward
// in the training layout at Qwen's heads, and a decode step's attention with RoPE in it (split, and in
// one dispatch in each lane layout: `--only attone`); and, where the
// device has it, the subgroup-matrix matmul (f16 inputs: its own tolerances, as `--only mma`). The unit tests run the same WGSL on
// SwiftShader (4-lane subgroups); this runs the paths only a hardware GPU takes (32-lane subgroups:
// a row inside one subgroup). Exit 1 on a relative error above 1e-4.
import { parseArgs } from 'node:util';
import { acquireDevice, parseDisable, type GpuContext } from '../../gpu/device';
import { nodeGpu } from '../../gpu/node';
import { BENCH_GPU_FLAGS } from './gpu-timer';
import { readF32 } from '../../gpu/buffers';
import { Recorder } from '../../gpu/encoder';
import { ROWLANE_LANES_OPTIONS } from '../../kernels/gemv_rowlane';
import { GEMV_LANES_OPTIONS, GEMV_ROWS_OPTIONS, GEMV_STEPS_OPTIONS, MatmulKernel, destroyWeight, stagedLaneOptions, uploadWeight, type LoraEpilogue, type MatmulOptions, type Weight } from '../../kernels/matmul';
import { dequantizeWeight, packWeight, type WeightHost } from '../../formats/weights';
import { gemvF16Ref, roundF16 } from '../../reference/gemv_f16';
import { matmulMmaRef, mmaWeights } from '../../reference/matmul_mma';
import { MMA_TILES_OPTIONS, mmaSupport } from '../../kernels/matmul_mma';
import { f16ToF32 } from '../../formats/safetensors';
import { RmsNormKernel } from '../../kernels/rmsnorm';
import { f16Pairs } from './gemv-stream';
import { matmulRef, matmulTransposedRef, matmulWeightRef, type LoraRef } from '../../reference/matmul';
import { rmsInvRef, rmsnormRef } from '../../reference/rmsnorm';
import { swigluRef } from '../../reference/swiglu';
import { AttentionBackwardKernel } from '../../kernels/attention_backward';
import { attentionRef } from '../../reference/attention';
import { attentionBackwardRef } from '../../reference/attention_backward';
import { kvWriteRef } from '../../reference/rope_kv';
import { AttentionGqaKernel, splitScratch } from '../../kernels/attention_gqa';
import { AttentionDecodeKernel } from '../../kernels/attention_decode';
import { attentionDecodeRef } from '../../reference/attention_decode';
import { ATTENTION_ONE_CHOICES } from './decode-timing';
import { uploadRopeTable } from '../../kernels/rope';
import { maxQueries, trainLayout } from '../../model/train-layout';

const TOLERANCE = 1e-4;
/**
 * Relative error allowed the GEMVs that read f16 x and sum their products in f16 (MatmulOptions.gemvX16)
 * against the exact product: x and the weights rounded to f16 (2⁻¹² relative each) and each lane's
 * walk summed in f16 before the f32 row sums (4–5e-4 on Qwen-shaped rows: test/kernels/gemv_f16.test.ts).
 */
const F16_TOLERANCE = 5e-3;
/** Relative error allowed the f16 GEMVs against gemvF16Ref, the CPU model of their rounding (it adds the lanes in another order). */
const F16_MODEL_TOLERANCE = 1e-4;

/** deterministic N(0, std²) values (Box–Muller over an LCG) */
function normal(seed: number, n: number, std = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

function relError(got: Float32Array, want: Float32Array): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < want.length; i++) { d += (got[i] - want[i]) ** 2; r += want[i] ** 2; }
  return Number.isFinite(d) ? Math.sqrt(d / Math.max(r, 1e-30)) : Infinity;
}

interface Problem { M: number; host: WeightHost; w: Weight; x: Float32Array; bias: Float32Array; yIn: Float32Array; lora: LoraRef; want: Float32Array; normW: Float32Array; wantNorm: Float32Array; uUnscaled: Float32Array }

const EPS = 1e-6;

function problem(ctx: GpuContext, M: number, N: number, K: number, seed: number, format: 'q4' | 'bf16' = 'q4'): Problem {
  const host = packWeight(format, normal(seed, N * K, 0.05), N, K);
  const bias = normal(seed + 1, N, 0.1);
  const x = normal(seed + 2, M * K);
  const yIn = normal(seed + 3, M * N);
  const R = 16;
  const ldu = 3 * R;
  const lora: LoraRef = { u: normal(seed + 4, M * ldu), ldu, B: normal(seed + 5, N * R, 0.3), R, scale: 2, slice1: Math.floor(N / 2), slice2: Math.floor((3 * N) / 4) };
  const w = uploadWeight(ctx, host, `check${N}x${K}`, bias);
  const normW = normal(seed + 6, K, 0.5);
  const wantNorm = matmulWeightRef(rmsnormRef(x, normW, M, K, EPS), host, M, { bias, yIn, lora });
  // the u of a GEMV that norms x and sums the LoRA term in its lanes: without the rsqrt (LoraEpilogue.uUnscaled)
  const rs = rmsInvRef(x, M, K, EPS);
  const uUnscaled = lora.u.map((v, i) => v / rs[Math.floor(i / ldu)]);
  return { M, host, w, x, bias, yIn, lora, want: matmulWeightRef(x, host, M, { bias, yIn, lora }), normW, wantNorm, uUnscaled };
}

/** problem p's LoRA as the matmul's epilogue, u and B uploaded to `u` and `B`; `uUnscaled`: u made without the norm's rsqrt */
function loraOf(p: Problem, u: GPUBuffer, B: GPUBuffer, uUnscaled = false): LoraEpilogue {
  return { u, ldu: p.lora.ldu, B, R: p.lora.R, scale: p.lora.scale, slice1: p.lora.slice1, slice2: p.lora.slice2, uUnscaled };
}

/** y = yIn + x·Wᵀ + bias + LoRA on the GPU, its relative error; `norm`: x is normed by the GEMV itself (xNorm) */
async function run(ctx: GpuContext, kernel: MatmulKernel, p: Problem, opts: MatmulOptions, norm = false): Promise<number> {
  return relError(await runGot(ctx, kernel, p, opts, norm), norm ? p.wantNorm : p.want);
}

/** run's y as the GPU computed it */
async function runGot(ctx: GpuContext, kernel: MatmulKernel, p: Problem, opts: MatmulOptions, norm = false): Promise<Float32Array> {
  const m = ctx.memory;
  const gb = norm ? m.upload('check.g', p.normW) : null;
  const xb = m.upload('check.x', opts.gemvX16 ? f16Pairs(p.x) : p.x);
  const yb = m.upload('check.y', p.yIn);
  const unscaled = norm && kernel.normLoraUnscaled;
  const ub = m.upload('check.u', unscaled ? p.uUnscaled : p.lora.u);
  const bb = m.upload('check.B', p.lora.B);
  const rec = new Recorder(ctx, 'check');
  kernel.encode(rec, xb, p.w, yb, p.M, { ...opts, accumulate: true, xNorm: gb ? { w: gb, eps: EPS } : null, lora: loraOf(p, ub, bb, unscaled) });
  rec.submit();
  const got = await readF32(ctx.device, yb);
  [xb, yb, ub, bb, gb].forEach((b) => b && m.destroy(b));
  return got;
}

/**
 * h = silu(gate)·up of x·Wᵀ + bias + LoRA (W a gate|up pair [N = 2I, K]) stored by the kernel itself
 * (ySwiglu; `body`: which kernel), its relative error; `norm` (default): x normed by the kernel, its LoRA
 * u without the rsqrt (uUnscaled)
 */
async function runSwiglu(ctx: GpuContext, kernel: MatmulKernel, p: Problem, body: MatmulOptions, norm = true): Promise<number> {
  const m = ctx.memory;
  const I = p.w.N / 2;
  const [xb, ub, bb] = [m.upload('check.x', p.x), m.upload('check.u', norm ? p.uUnscaled : p.lora.u), m.upload('check.B', p.lora.B)];
  const gb = norm ? m.upload('check.g', p.normW) : null;
  const yb = m.create('check.h', p.M * I * 4);
  const rec = new Recorder(ctx, 'check');
  kernel.encode(rec, xb, p.w, yb, p.M, { variant: 'gemv', ...body, ySwiglu: true, xNorm: gb ? { w: gb, eps: EPS } : null, lora: loraOf(p, ub, bb, norm) });
  rec.submit();
  const got = await readF32(ctx.device, yb);
  [gb, xb, ub, bb, yb].forEach((b) => b && m.destroy(b));
  const gu = matmulWeightRef(norm ? rmsnormRef(p.x, p.normW, p.M, p.w.K, EPS) : p.x, p.host, p.M, { bias: p.bias, lora: p.lora });
  return relError(got, swigluRef(gu, p.M, I));
}

/** Split-K of training's small grids: the tiled forward (bias + residual; no LoRA there) and the transposed (into dx and accumulated), 3 and 5 chunks. */
async function checkSplitK(ctx: GpuContext, kernel: MatmulKernel, p: Problem, check: (name: string, err: number) => void): Promise<void> {
  const m = ctx.memory;
  const N = p.host.N;
  const K = p.host.K;
  const scratch = m.create('check.scratch', 5 * p.M * Math.max(N, K) * 4);
  const dy = normal(91, p.M * N);
  for (const splits of [3, 5]) {
    const [xb, yb, dyb, dxb] = [m.upload('check.x', p.x), m.upload('check.y', p.yIn), m.upload('check.dy', dy), m.upload('check.dx', p.x)];
    const rec = new Recorder(ctx, 'check');
    kernel.encode(rec, xb, p.w, yb, p.M, { variant: 'tiled', accumulate: true, split: { scratch, splits } });
    kernel.encodeTransposed(rec, dyb, p.w, dxb, p.M, { accumulate: true, split: { scratch, splits } });
    rec.submit();
    check(`tiled split-K ${splits} chunks M=${p.M} N=${N} K=${K}`, relError(await readF32(ctx.device, yb), matmulWeightRef(p.x, p.host, p.M, { bias: p.bias, yIn: p.yIn })));
    check(`transposed split-K ${splits} chunks M=${p.M} N=${N} K=${K}`, relError(await readF32(ctx.device, dxb), matmulTransposedRef(dy, p.host, p.M, p.x)));
    [xb, yb, dyb, dxb].forEach((b) => m.destroy(b));
  }
  m.destroy(scratch);
}

/** The decode down GEMV that also stores its rows at the training layout's rows (save), at G = 8 and Qwen's down shape, with LoRA. */
async function checkSave(ctx: GpuContext, kernel: MatmulKernel, check: (name: string, err: number) => void): Promise<void> {
  if (!kernel.saveFusable) return;
  const m = ctx.memory;
  const p = problem(ctx, 8, 1536, 8960, 95);
  const [N, D] = [1536, 40];
  const map = Int32Array.from({ length: 16 }, (_, i) => (i % 2 ? 8 : 3 + (i >> 1))); // row 3 + r + 8·pos
  const pos = Int32Array.from({ length: 8 }, (_, r) => r % 4);
  for (const gemvRowLane of [false, true]) {
    const b = { x: m.upload('check.x', p.x), y: m.upload('check.y', p.yIn), u: m.upload('check.u', p.lora.u), B: m.upload('check.B', p.lora.B), pos: m.upload('check.pos', pos), map: m.upload('check.map', map), dst: m.create('check.dst', D * N * 4) };
    const rec = new Recorder(ctx, 'check');
    kernel.encode(rec, b.x, p.w, b.y, p.M, { variant: 'gemv', gemvRowLane, accumulate: true, lora: loraOf(p, b.u, b.B), save: { pos: b.pos, map: b.map, dst: b.dst } });
    rec.submit();
    const dst = await readF32(ctx.device, b.dst);
    const saved = new Float32Array(8 * N);
    for (let r = 0; r < 8; r++) saved.set(dst.subarray((3 + r + 8 * pos[r]) * N, (4 + r + 8 * pos[r]) * N), r * N);
    const how = gemvRowLane ? 'row-lane ' : '';
    check(`gemv ${how}saving its rows (y) M=8 N=${N} K=8960`, relError(await readF32(ctx.device, b.y), p.want));
    check(`gemv ${how}saving its rows (the saved rows) M=8 N=${N} K=8960`, relError(saved, p.want));
    Object.values(b).forEach((x) => m.destroy(x));
  }
  destroyWeight(ctx, p.w);
}

/**
 * The attention backward in the training layout at Qwen2.5-1.5B's heads (H = 12, K = 2, D = 128):
 * a prompt shared by 4 completions (a prompt row's dk/dv summed over every completion's queries) and
 * the same sequences laid out alone, each variant pair, against the f64 reference.
 */
async function checkAttentionBackward(ctx: GpuContext, check: (name: string, err: number) => void): Promise<void> {
  const [H, K, D, P, n, Tc] = [12, 2, 128, 24, 4, 20];
  const seqs = Array.from({ length: n }, (_, i) => ({ prompt: Array.from({ length: P }, (_, j) => 1 + j), completion: Array.from({ length: Tc }, (_, j) => 100 + 10 * i + j) }));
  const k = await AttentionBackwardKernel.create(ctx);
  for (const share of [true, false]) {
    const lay = trainLayout(seqs, 0, Tc, share);
    const T = lay.T;
    const qkv = normal(T + 11, T * (H + 2 * K) * D);
    const dout = normal(T + 12, T * H * D);
    // the cache rope_kv fills from these rows: each row's k/v at (slot + f, pos) for f < fan
    const kc = new Float32Array(lay.B * lay.L * K * D);
    const vc = new Float32Array(kc.length);
    kvWriteRef(qkv, lay.slot, lay.pos, kc, vc, { T, H, K, D, L: lay.L }, lay.fan);
    const fwd = attentionRef(qkv, kc, vc, lay.slot, lay.pos, T, H, K, D, lay.L);
    const want = attentionBackwardRef(qkv, kc, vc, lay.slot, lay.pos, fwd.out, fwd.lse, dout, T, H, K, D, lay.L, lay.fan);
    const m = ctx.memory;
    const b = { qkv: m.upload('check.qkv', qkv), out: m.upload('check.out', fwd.out), lse: m.upload('check.lse', fwd.lse), dout: m.upload('check.dout', dout), dqkv: m.create('check.dqkv', qkv.length * 4), delta: m.create('check.delta', T * H * 4), spans: m.upload('check.spans', lay.spans) };
    // split: the dk/dv of keys with more than `pairs` (query, head) pairs over several workgroups (0: not split)
    const scratch = m.create('check.scratch', 16 * T * K * 2 * D * 4);
    for (const [dq, dkv, threads, keys, pairs] of [['group', 'lanes', 128, 1, 0], ['group', 'lanes', 256, 1, 0], ['group', 'lanes', 256, 2, 0], ['group', 'lanes', 256, 4, 0], ['group', 'lanes', 256, 4, 100], ['group', 'lanes', 128, 2, 37], ['head', 'thread', 128, 1, 0]] as const) {
      k.dqVariant = dq;
      k.dkvVariant = dkv;
      k.dkvThreads = threads;
      k.dkvKeys = keys;
      k.dkvSplitPairs = pairs;
      const rec = new Recorder(ctx, 'check');
      k.encode(rec, { T, H, K, D }, b, { scratch, maxQueries: maxQueries(lay.spans) });
      rec.submit();
      check(`attention backward ${share ? `prompt ${P} shared by ${n}` : `${n} sequences alone`} (${T} rows), dq by ${dq}, dk/dv by ${dkv}${dkv === 'lanes' ? ` (${threads} threads, ${keys} keys a workgroup${pairs ? `, split into ≤ ${pairs} pairs` : ''})` : ''}`, relError(await readF32(ctx.device, b.dqkv), want));
    }
    Object.values(b).forEach((x) => m.destroy(x));
    m.destroy(scratch);
  }
}

/**
 * A decode step's attention with RoPE in it (attention_gqa ROPE: q and k rotated there, the token's
 * own k and v cached by the workgroup whose chunk holds that key) at Qwen2.5-1.5B's heads, 1, 8 and
 * 16 rows at mixed positions, the engine's chunking and a forced one, against rope_kv's reference
 * followed by the attention's: the output and both caches.
 */
async function checkDecodeAttentionRope(ctx: GpuContext, check: (name: string, err: number) => void): Promise<void> {
  const k = await AttentionGqaKernel.create(ctx);
  const table = uploadRopeTable(ctx, 1e6, DECODE_HEADS.D, 384);
  const m = ctx.memory;
  for (const T of [1, 8, 16]) {
    const p = decodeAttentionProblem(T, 384, T + 21);
    for (const S of [undefined, 5]) {
      const split = k.plan(p.shape, 1 << 26, S)!;
      const b = { ...uploadDecodeAttention(ctx, p), part: m.create('check.part', Math.max(16, splitScratch(p.shape, split.S) * 4)) };
      const rec = new Recorder(ctx, 'check');
      k.encode(rec, p.shape, split, { ...b, rope: table });
      rec.submit();
      const name = `decode attention with RoPE, ${T} rows, ${split.S} chunks of ${split.CH} keys`;
      check(`${name}: out`, relError(await readF32(ctx.device, b.out), p.want.out));
      check(`${name}: k cache`, relError(await readF32(ctx.device, b.kc), p.rk));
      check(`${name}: v cache`, relError(await readF32(ctx.device, b.vc), p.rv));
      Object.values(b).forEach((x) => m.destroy(x));
    }
  }
  m.destroy(table.buffer);
}

/** Qwen2.5-1.5B's attention heads: 12 query heads, 2 KV heads of 128. */
const DECODE_HEADS = { H: 12, K: 2, D: 128 };

/**
 * A decode step of T rows at Qwen's heads with L positions: slots (i·5) mod T, positions (i·97 + L − 1)
 * mod L, random qkv (unrotated) and caches from seeds seed…seed + 2, and the result of rope_kv then the
 * attention (attentionDecodeRef) with the caches it leaves (rk, rv).
 */
function decodeAttentionProblem(T: number, L: number, seed: number) {
  const { H, K, D } = DECODE_HEADS;
  const shape = { T, H, K, D, L };
  const slot = Int32Array.from({ length: T }, (_, i) => (i * 5) % T);
  const pos = Int32Array.from({ length: T }, (_, i) => (i * 97 + L - 1) % L);
  const qkv = normal(seed, T * (H + 2 * K) * D);
  const kc0 = normal(seed + 1, T * L * K * D);
  const vc0 = normal(seed + 2, T * L * K * D);
  const [rk, rv] = [Float32Array.from(kc0), Float32Array.from(vc0)];
  const want = attentionDecodeRef(qkv, slot, pos, rk, rv, { ...shape, theta: 1e6 });
  return { shape, slot, pos, qkv, kc0, vc0, rk, rv, want };
}

/** The problem's inputs on the GPU, and its out [T, H·D] and lse [T, H] */
function uploadDecodeAttention(ctx: GpuContext, p: ReturnType<typeof decodeAttentionProblem>) {
  const m = ctx.memory;
  const { T, H, D } = p.shape;
  return { qkv: m.upload('check.qkv', p.qkv), kc: m.upload('check.kc', p.kc0), vc: m.upload('check.vc', p.vc0), slot: m.upload('check.slot', p.slot), pos: m.upload('check.pos', p.pos), out: m.create('check.out', T * H * D * 4), lse: m.create('check.lse', T * H * 4) };
}

/**
 * A decode step's attention in one dispatch (attention_decode: RoPE and the cache write inside) at
 * Qwen2.5-1.5B's heads, 1, 8 and 16 rows at mixed positions of 384 and 1,024 keys, in every lane
 * layout the breakdown times (ATTENTION_ONE_CHOICES; lanes a key cut to the subgroup width), against
 * rope_kv's reference followed by the attention's: the output, lse and both caches.
 */
async function checkDecodeAttentionOne(ctx: GpuContext, check: (name: string, err: number) => void): Promise<void> {
  const k = await AttentionDecodeKernel.create(ctx);
  const m = ctx.memory;
  for (const L of [384, 1024]) {
    const table = uploadRopeTable(ctx, 1e6, DECODE_HEADS.D, L);
    for (const T of [1, 8, 16]) {
      const p = decodeAttentionProblem(T, L, T + L + 31);
      for (const [, rows, layout] of ATTENTION_ONE_CHOICES) {
        if (rows === 0) continue;
        k.layout = layout;
        if (!k.fits(p.shape)) continue;
        const b = uploadDecodeAttention(ctx, p);
        const rec = new Recorder(ctx, 'check');
        k.encode(rec, p.shape, table, b);
        rec.submit();
        const name = `decode attention in one dispatch, ${T} rows of ${L} keys, ${k.lanesFor(DECODE_HEADS.D)} lanes a key, ${layout.keys} keys a trip, ${layout.threads} threads`;
        check(`${name}: out`, relError(await readF32(ctx.device, b.out), p.want.out));
        check(`${name}: lse`, relError(await readF32(ctx.device, b.lse), p.want.lse));
        check(`${name}: k cache`, relError(await readF32(ctx.device, b.kc), p.rk));
        check(`${name}: v cache`, relError(await readF32(ctx.device, b.vc), p.rv));
        Object.values(b).forEach((x) => m.destroy(x));
      }
    }
    m.destroy(table.buffer);
  }
}

export async function runBenchCheck(argv: string[]): Promise<number> {
  // --only staged | f16 | mma | attone: just the staged GEMV's cases, the f16 GEMVs', the subgroup-matrix matmul's or the one-dispatch decode attention's (short device runs)
  const { values } = parseArgs({ args: argv, options: { disable: { type: 'string', default: '' }, only: { type: 'string' } } });
  if (values.only !== undefined && !['staged', 'f16', 'mma', 'attone'].includes(values.only)) throw new Error(`--only ${values.only}: expected staged, f16, mma or attone`);
  const onlyStaged = values.only === 'staged';
  const disable = parseDisable(values.disable);
  const ctx = await acquireDevice(await nodeGpu(BENCH_GPU_FLAGS), { disable });
  const kernel = await MatmulKernel.create(ctx);
  console.log(`matmul kernels vs the CPU reference on ${ctx.adapter.description || ctx.adapter.vendor} (subgroups ${ctx.features.subgroups ? `${ctx.subgroupMinSize}…` : 'off'}); bias + accumulate + LoRA r = 16 in 3 slices; tolerance ${TOLERANCE}`);
  let worst = 0;
  let count = 0;
  const failures: string[] = [];
  let worstModel = 0; // --only f16: against the CPU model of the f16 rounding
  /** a check of one kernel run: counted, its error into `track`, a failure above `tol` (the message ending in `suffix`) */
  const within = (tol: number, suffix: string, track: (err: number) => void) => (name: string, err: number) => {
    count++;
    track(err);
    if (!(err <= tol)) failures.push(`${name}: relative error ${err.toExponential(2)}${suffix}`);
  };
  const trackWorst = (err: number) => { worst = Math.max(worst, err); };
  const check = within(TOLERANCE, '', trackWorst);
  if (values.only === 'f16') {
    if (!ctx.features.f16) throw new Error('bench-check --only f16: the device has no shader-f16 (on NVIDIA Vulkan BENCH_GPU_FLAGS enables it)');
    await checkF16(ctx, kernel, within(F16_TOLERANCE, ` (f16 tolerance ${F16_TOLERANCE})`, trackWorst), within(F16_MODEL_TOLERANCE, ` (tolerance ${F16_MODEL_TOLERANCE})`, (err) => { worstModel = Math.max(worstModel, err); }));
    console.log(`against the CPU model of the f16 rounding (gemvF16Ref): worst relative error ${worstModel.toExponential(2)}; against the exact product:`);
    return report(ctx, count, worst, failures);
  }
  if (values.only === 'attone') {
    await checkDecodeAttentionOne(ctx, check);
    return report(ctx, count, worst, failures);
  }
  if (values.only === 'mma') {
    const why = mmaSupport(ctx);
    if (why) throw new Error(`bench-check --only mma: the device cannot run the subgroup-matrix matmul (${why})`);
    await checkMma(ctx, kernel, within(F16_TOLERANCE, ` (f16 tolerance ${F16_TOLERANCE})`, trackWorst), within(F16_MODEL_TOLERANCE, ` (tolerance ${F16_MODEL_TOLERANCE})`, (err) => { worstModel = Math.max(worstModel, err); }));
    console.log(`against the CPU model of its f16 inputs (matmulMmaRef): worst relative error ${worstModel.toExponential(2)}; against the exact product:`);
    return report(ctx, count, worst, failures);
  }
  // the GEMV bodies within TOLERANCE: not the subgroup-matrix matmul, the default from 9 rows where the device has it (checked last, within its f16 tolerances)
  const mmaRows = kernel.gemvMmaRows;
  kernel.gemvMmaRows = Infinity;
  // GEMV: N not a multiple of a workgroup's rows (a partial last group); K = 1536 (32-weight steps possible) and a long K
  for (const [N, K] of [[200, 1536], [72, 8960]] as const) {
    for (const M of [1, 3, 8, 16]) {
      const p = problem(ctx, M, N, K, N + K + M);
      await checkStaged(ctx, kernel, p, check);
      if (onlyStaged) {
        destroyWeight(ctx, p.w);
        continue;
      }
      for (const wide of [false, true]) {
        for (const rows of GEMV_ROWS_OPTIONS) {
          for (const lanes of GEMV_LANES_OPTIONS) {
            check(`gemv ${wide ? 'wide' : '8-weight'} NR=${rows} LANES=${lanes} M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvWide: wide, gemvRows: rows, gemvLanes: lanes }));
          }
        }
      }
      // 2 and 4 lane steps per loop trip (8-weight body)
      for (const gemvSteps of GEMV_STEPS_OPTIONS.filter((u) => u > 1)) {
        for (const lanes of GEMV_LANES_OPTIONS) check(`gemv ${gemvSteps} steps a trip LANES=${lanes} M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvWide: false, gemvLanes: lanes, gemvSteps }));
      }
      // 4 weights per lane step, 1–4 steps a trip
      for (const gemvSteps of GEMV_STEPS_OPTIONS) check(`gemv 4-weight steps, ${gemvSteps} a trip M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvWide: false, gemvSteps, gemvStep4: true }));
      check(`gemv default layout M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv' }));
      // the row-lane body: every row-lane count, rows a lane and workgroup size
      for (const gemvThreads of [128, 256]) {
        for (const rows of GEMV_ROWS_OPTIONS) {
          for (const lanes of ROWLANE_LANES_OPTIONS) check(`gemv row-lane NR=${rows} RL=${lanes} ${gemvThreads} threads M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvRowLane: true, gemvRows: rows, gemvLanes: lanes, gemvThreads }));
        }
      }
      // the RMSNorm fused into the x reads (decode q|k|v and gate|up), 8-, 32- and 4-weight steps; the
      // LoRA term summed by the lanes (default) and in the store epilogue (loraFold off)
      for (const loraFold of [true, false]) {
        kernel.loraFold = loraFold;
        const how = loraFold ? 'LoRA summed by the lanes' : 'LoRA in the epilogue';
        if (!loraFold) check(`gemv ${how} M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv' }));
        if (kernel.normFusable) {
          for (const [wide, step4] of [[false, false], [true, false], [false, true]] as const) {
            for (const gemvNormPrologue of [false, true]) {
              check(`gemv RMSNorm fused${gemvNormPrologue ? ' (Σx² prologue)' : ''} ${wide ? 'wide' : step4 ? '4-weight' : '8-weight'} ${how} M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvWide: wide, gemvStep4: step4, gemvNormPrologue }, true));
            }
          }
          for (const gemvThreads of [128, 256]) check(`gemv RMSNorm fused row-lane ${gemvThreads} threads ${how} M=${M} N=${N} K=${K}`, await run(ctx, kernel, p, { variant: 'gemv', gemvRowLane: true, gemvThreads }, true));
          // the row-lane GEMV storing silu(gate)·up of its (j, j + N/2) row pairs (the decode gate|up at 4–8 rows): N/2 units
          if (loraFold && K % 32 === 0) for (const gemvThreads of [128, 256]) check(`gemv row-lane SwiGLU store ${gemvThreads} threads, RMSNorm fused M=${M} N=${N} K=${K}`, await runSwiglu(ctx, kernel, p, { gemvRowLane: true, gemvThreads }));
          // and the lane-group GEMV's (a gate|up pair a lane group), 8- and 4-weight steps
          if (loraFold) for (const gemvStep4 of [false, true]) check(`gemv lane-group SwiGLU store ${gemvStep4 ? '4' : '8'}-weight, RMSNorm fused M=${M} N=${N} K=${K}`, await runSwiglu(ctx, kernel, p, { gemvRowLane: false, gemvStep4 }));
        }
      }
      kernel.loraFold = true;
      destroyWeight(ctx, p.w);
    }
  }
  if (onlyStaged) return report(ctx, count, worst, failures);
  // bf16 weights (the LM head): 8- and 4-weight steps
  for (const M of [1, 8, 16]) {
    const p = problem(ctx, M, 200, 1536, 300 + M, 'bf16');
    for (const step4 of [false, true]) check(`gemv bf16 ${step4 ? '4' : '8'}-weight M=${M} N=200 K=1536`, await run(ctx, kernel, p, { variant: 'gemv', gemvStep4: step4 }));
    destroyWeight(ctx, p.w);
  }
  // the SwiGLU fused into the x reads (the decode down GEMV at 1 row): x is a gate|up pair [M, 2K]
  for (const M of [1, 8]) {
    const [N, K] = [72, 8960];
    const gu = normal(400 + M, M * 2 * K);
    const host = packWeight('q4', normal(401, N * K, 0.05), N, K);
    const w = uploadWeight(ctx, host, 'check.down');
    const [xb, yb] = [ctx.memory.upload('check.gu', gu), ctx.memory.create('check.y', M * N * 4)];
    const rec = new Recorder(ctx, 'check');
    kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', xSwiglu: true });
    rec.submit();
    check(`gemv SwiGLU fused M=${M} N=${N} K=${K}`, relError(await readF32(ctx.device, yb), matmulWeightRef(swigluRef(gu, M, K), host, M)));
    [xb, yb].forEach((b) => ctx.memory.destroy(b));
    destroyWeight(ctx, w);
  }
  const t = problem(ctx, 150, 200, 1536, 7);
  for (const tiledRows of [4, 8] as const) check(`tiled TM=${tiledRows} M=150 N=200 K=1536`, await run(ctx, kernel, t, { variant: 'tiled', tiledRows }));
  await checkSplitK(ctx, kernel, t, check);
  destroyWeight(ctx, t.w);
  await checkSave(ctx, kernel, check);
  // the dense f32 GEMV (the LoRA u = x·Aᵀ: N = 16–48), a dispatch per 16 rows of x or a workgroup row per row of x
  for (const [N, K] of [[48, 1536], [16, 8960]] as const) {
    for (const M of [1, 8, 16]) {
      const x = normal(N + K + M + 1, M * K);
      const A = normal(N + 2, N * K, 0.1);
      for (const rowGrid of [false, true]) {
        kernel.denseRowGrid = rowGrid;
        const [xb, ab, yb] = [ctx.memory.upload('check.x', x), ctx.memory.upload('check.A', A), ctx.memory.create('check.u', M * N * 4)];
        const rec = new Recorder(ctx, 'check');
        kernel.encodeDenseGemv(rec, xb, ab, yb, M, N, K);
        rec.submit();
        check(`dense gemv${rowGrid ? ' (a workgroup row per row of x)' : ''} M=${M} N=${N} K=${K}`, relError(await readF32(ctx.device, yb), matmulRef(x, A, M, N, K)));
        [xb, ab, yb].forEach((b) => ctx.memory.destroy(b));
      }
    }
  }
  kernel.denseRowGrid = true; // the default
  await checkAttentionBackward(ctx, check);
  await checkDecodeAttentionRope(ctx, check);
  await checkDecodeAttentionOne(ctx, check);
  // the subgroup-matrix matmul (its f16 inputs: within F16_TOLERANCE of the exact product and F16_MODEL_TOLERANCE of matmulMmaRef)
  kernel.gemvMmaRows = mmaRows;
  if (!mmaSupport(ctx)) {
    await checkMma(ctx, kernel, within(F16_TOLERANCE, ` (f16 tolerance ${F16_TOLERANCE})`, trackWorst), within(F16_MODEL_TOLERANCE, ` (tolerance ${F16_MODEL_TOLERANCE})`, (err) => { worstModel = Math.max(worstModel, err); }));
    console.log(`subgroup-matrix matmul against the CPU model of its f16 inputs: worst relative error ${worstModel.toExponential(2)}`);
  }
  return report(ctx, count, worst, failures);
}

/** Prints the count, the worst error and each failure (GPU errors too); the exit code. */
function report(ctx: GpuContext, count: number, worst: number, failures: string[]): number {
  for (const e of ctx.errors) failures.push(`GPU error: ${e.message}`);
  console.log(`${count} kernel runs, worst relative error ${worst.toExponential(2)}`);
  for (const f of failures) console.log(`FAILED ${f}`);
  return failures.length ? 1 : 0;
}

/**
 * The GEMV that reads f16 x (MatmulOptions.gemvX16; x uploaded as f16) at 1–16 rows of x, K = 1536
 * and 8960, every rows a lane group × lanes, against the exact product (within F16_TOLERANCE) and, at
 * 2 rows a lane group, against the CPU model of its rounding (gemvF16Ref, within F16_MODEL_TOLERANCE:
 * the same arithmetic up to the order of the lanes' f32 sums); the LoRA term summed by the lanes and in
 * the epilogue; and the RMSNorm's f16 copy of its output (the x of the decode gate|up GEMV from
 * MatmulKernel.gemvX16Rows rows).
 */
async function checkF16(ctx: GpuContext, kernel: MatmulKernel, check: (name: string, err: number) => void, checkModel: (name: string, err: number) => void): Promise<void> {
  for (const [N, K] of [[200, 1536], [72, 8960]] as const) {
    for (const M of [1, 3, 8, 16]) {
      const p = problem(ctx, M, N, K, N + K + M);
      const at = `M=${M} N=${N} K=${K}`;
      const wd = dequantizeWeight(p.host);
      const epi = { bias: p.bias, yIn: p.yIn, lora: p.lora };
      for (const loraFold of [true, false]) {
        kernel.loraFold = loraFold;
        const how = loraFold ? 'LoRA summed by the lanes' : 'LoRA in the epilogue';
        for (const rows of GEMV_ROWS_OPTIONS) {
          for (const lanes of GEMV_LANES_OPTIONS) {
            const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvX16: true, gemvRows: rows, gemvLanes: lanes });
            check(`gemv f16 x NR=${rows} LANES=${lanes} ${how} ${at}`, relError(got, p.want));
            if (rows === 2) checkModel(`gemv f16 x NR=2 LANES=${lanes} ${how} ${at} against the f16 model`, relError(got, gemvF16Ref(p.x, wd, M, N, K, { lanes, ...epi })));
          }
        }
      }
      kernel.loraFold = true;
      destroyWeight(ctx, p.w);
    }
  }
  // the RMSNorm's f16 copy of y (the x of a gate|up GEMV reading f16: MatmulKernel.gemvX16Rows): y16 = f16(y)
  const norm = await RmsNormKernel.create(ctx);
  for (const [T, C] of [[16, 1536], [9, 1536]] as const) {
    const x = normal(T + C, T * C, 3);
    const g = normal(T + C + 1, C, 0.5);
    const m = ctx.memory;
    const [xb, gb, yb, y16] = [m.upload('check.x', x), m.upload('check.g', g), m.create('check.y', T * C * 4), m.create('check.y16', T * C * 2)];
    const rec = new Recorder(ctx, 'check');
    norm.encode(rec, xb, gb, yb, T, C, EPS, y16);
    rec.submit();
    const got16 = Float32Array.from(new Uint16Array((await readF32(ctx.device, y16)).buffer), (h) => f16ToF32(h));
    const y = await readF32(ctx.device, yb);
    checkModel(`rmsnorm T=${T} C=${C} f16 copy against f16(y)`, relError(got16, y.map(roundF16)));
    check(`rmsnorm T=${T} C=${C} f16 copy against the exact norm`, relError(got16, rmsnormRef(x, g, T, C, EPS)));
    [xb, gb, yb, y16].forEach((b) => m.destroy(b));
  }
}

/**
 * The subgroup-matrix matmul (matmul_mma.ts) at 1–16 rows of x, K = 1536 and 8960, N not a multiple of
 * its 16-row tiles, every tile count a workgroup, with bias, residual accumulate and LoRA, against the
 * exact product (within F16_TOLERANCE) and the CPU model of its f16 inputs (matmulMmaRef, within
 * F16_MODEL_TOLERANCE); every q4 decode, 32- and 64-weight chunks and the results added in rounds; with the
 * RMSNorm fused (and a LoRA u without its rsqrt), its SwiGLU store (a gate|up pair, with LoRA), 128-thread
 * workgroups (4 subgroups), the tile sums and the LoRA term on the matrix units at the kernel's layout, all-64,
 * all-32 and in 128-thread workgroups, and bf16 weights (the LM head).
 */
async function checkMma(ctx: GpuContext, kernel: MatmulKernel, check: (name: string, err: number) => void, checkModel: (name: string, err: number) => void): Promise<void> {
  for (const [N, K] of [[200, 1536], [72, 8960]] as const) {
    for (const M of [1, 3, 8, 16]) {
      const p = problem(ctx, M, N, K, N + K + M);
      const at = `M=${M} N=${N} K=${K}`;
      const model = matmulMmaRef(p.x, mmaWeights(p.host), M, N, K, { bias: p.bias, yIn: p.yIn, lora: p.lora });
      for (const mmaDecode of [0, 1, 2, 3] as const) {
        for (const mmaTiles of MMA_TILES_OPTIONS) {
          const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles, mmaDecode });
          const how = `mma NT=${mmaTiles}${['', ' shuffle decode', ' shuffle decode word by word', ' codes from the codebook buffer'][mmaDecode]} ${at}`;
          check(how, relError(got, p.want));
          checkModel(`${how} against its f16 model`, relError(got, model));
        }
      }
      // W and x loaded two trips ahead, or each trip's at its start
      for (const mmaTiles of [1, 2] as const) {
        for (const mmaPrefetch of [0, 2] as const) {
          const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles, mmaPrefetch });
          const how = `mma NT=${mmaTiles} ${mmaPrefetch ? '2 trips ahead' : 'loads at the trip start'} ${at}`;
          check(how, relError(got, p.want));
          checkModel(`${how} against its f16 model`, relError(got, model));
        }
        const serial = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles, mmaSerial: true });
        check(`mma NT=${mmaTiles} serial ${at}`, relError(serial, p.want));
        checkModel(`mma NT=${mmaTiles} serial ${at} against its f16 model`, relError(serial, model));
      }
      // less workgroup memory: 32-weight chunks (the table decode and the shuffle decode), the results added in rounds
      for (const mmaTiles of [1, 2, 4] as const) {
        for (const [mmaChunk, mmaRounds, mmaDecode] of [[32, 0, 2], [32, 1, 2], [32, 2, 2], [32, 2, 0], [32, 2, 3], [64, 1, 2], [64, 2, 2]] as const) {
          const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles, mmaChunk, mmaRounds, mmaDecode });
          const how = `mma NT=${mmaTiles} KC=${mmaChunk} rounds ${mmaRounds}${[' table decode', '', '', ' codes from the codebook buffer'][mmaDecode]} ${at}`;
          check(how, relError(got, p.want));
          checkModel(`${how} against its f16 model`, relError(got, model));
        }
        check(`mma NT=${mmaTiles} KC=32 rounds 2 RMSNorm fused ${at}`, relError(await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles, mmaChunk: 32, mmaRounds: 2 }, true), p.wantNorm));
        if (mmaTiles >= 2) check(`mma SwiGLU store NT=${mmaTiles} KC=32 rounds 2 ${at}`, await runSwiglu(ctx, kernel, p, { gemvMma: true, mmaTiles, mmaChunk: 32, mmaRounds: 2 }, false));
      }
      // the RMSNorm applied as x is staged (the decode q|k|v and gate|up), its LoRA u without the rsqrt (uUnscaled), and with the SwiGLU store
      for (const mmaTiles of [1, 2] as const) {
        check(`mma NT=${mmaTiles} RMSNorm fused ${at}`, relError(await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles }, true), p.wantNorm));
        check(`mma NT=${mmaTiles} RMSNorm fused, SwiGLU store ${at}`, await runSwiglu(ctx, kernel, p, { gemvMma: true, mmaTiles: 2 * mmaTiles }));
      }
      // the SwiGLU store: N = 2I rows as gate | up, with LoRA (its term added by the storing thread)
      for (const mmaTiles of MMA_TILES_OPTIONS.filter((t) => t >= 2)) check(`mma SwiGLU store NT=${mmaTiles} ${at}`, await runSwiglu(ctx, kernel, p, { gemvMma: true, mmaTiles }, false));
      // 128-thread workgroups (4 subgroups, two rows of x a thread): each tile count's default layout, 32-weight chunks in rounds, the norm, the SwiGLU store
      for (const mmaTiles of [1, 2, 4] as const) {
        const o = { gemvMma: true, mmaTiles, mmaSubgroups: 4 } as const;
        const got = await runGot(ctx, kernel, p, { variant: 'gemv', ...o });
        check(`mma 4 subgroups NT=${mmaTiles} ${at}`, relError(got, p.want));
        checkModel(`mma 4 subgroups NT=${mmaTiles} ${at} against its f16 model`, relError(got, model));
        if (mmaTiles <= 2) {
          const k32 = await runGot(ctx, kernel, p, { variant: 'gemv', ...o, mmaChunk: 32, mmaRounds: 2 });
          check(`mma 4 subgroups NT=${mmaTiles} KC=32 rounds 2 ${at}`, relError(k32, p.want));
          checkModel(`mma 4 subgroups NT=${mmaTiles} KC=32 rounds 2 ${at} against its f16 model`, relError(k32, model));
          check(`mma 4 subgroups NT=${mmaTiles} RMSNorm fused ${at}`, relError(await runGot(ctx, kernel, p, { variant: 'gemv', ...o }, true), p.wantNorm));
        }
        if (mmaTiles >= 2) check(`mma 4 subgroups SwiGLU store NT=${mmaTiles} ${at}`, await runSwiglu(ctx, kernel, p, o, false));
      }
      destroyWeight(ctx, p.w);
    }
  }
  // the tile sums and the LoRA term on the matrix units again at the layout of least workgroup memory (32-weight chunks, results a subgroup a round), and in 128-thread workgroups
  const layout = [kernel.mmaChunk1, kernel.mmaChunk2, kernel.mmaRounds1, kernel.mmaRounds2, kernel.mmaSubgroups1, kernel.mmaSubgroups2] as const;
  for (const [c1, c2, r1, r2, g1, g2] of [layout, [64, 64, 0, 0, 8, 8], [32, 32, 2, 2, 8, 8], [64, 32, 0, 2, 4, 4]] as const) {
    [kernel.mmaChunk1, kernel.mmaChunk2, kernel.mmaRounds1, kernel.mmaRounds2, kernel.mmaSubgroups1, kernel.mmaSubgroups2] = [c1, c2, r1, r2, g1, g2];
    const tag = (n: string) => `${n} (KC=${c1}/${c2}, rounds ${r1}/${r2}, subgroups ${g1}/${g2})`;
    await checkTileSums(ctx, kernel, (n, e) => check(tag(n), e), (n, e) => checkModel(tag(n), e));
    await checkLoraMma(ctx, kernel, (n, e) => check(tag(n), e), (n, e) => checkModel(tag(n), e));
  }
  [kernel.mmaChunk1, kernel.mmaChunk2, kernel.mmaRounds1, kernel.mmaRounds2, kernel.mmaSubgroups1, kernel.mmaSubgroups2] = layout;
  // bf16 weights (the LM head)
  for (const M of [3, 16]) {
    const p = problem(ctx, M, 200, 1536, 400 + M, 'bf16');
    const bfModel = matmulMmaRef(p.x, mmaWeights(p.host), M, 200, 1536, { bias: p.bias, yIn: p.yIn, lora: p.lora });
    for (const mmaChunk of [64, 32] as const) {
      const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaChunk, mmaRounds: mmaChunk === 32 ? 2 : 0 });
      const how = `mma bf16${mmaChunk === 32 ? ' KC=32 rounds 2' : ''} M=${M} N=200 K=1536`;
      check(how, relError(got, p.want));
      checkModel(`${how} against its f16 model`, relError(got, bfModel));
    }
    destroyWeight(ctx, p.w);
  }
}

/**
 * The LoRA term on the matrix units (MatmulKernel.mmaLoraFor: rank 16, slices on 16-row boundaries —
 * N = 256 puts them at 128 and 192 — NT ≤ 4): bias, residual and LoRA against the exact product and the
 * CPU model with its u·scale and B in f16; with the norm fused (u without the rsqrt); the SwiGLU store,
 * normed and not. The other cases of checkMma (slices off the tiles, NT = 8) take lora_term().
 */
async function checkLoraMma(ctx: GpuContext, kernel: MatmulKernel, check: (name: string, err: number) => void, checkModel: (name: string, err: number) => void): Promise<void> {
  const [N, K] = [256, 1536];
  const was = kernel.mmaLora;
  kernel.mmaLora = true;
  for (const M of [3, 16, 24]) { // 24: two dispatches (rows 0–15, 16–23)
    const p = problem(ctx, M, N, K, 700 + M);
    const at = `M=${M} N=${N} K=${K}`;
    const model = matmulMmaRef(p.x, mmaWeights(p.host), M, N, K, { bias: p.bias, yIn: p.yIn, lora: p.lora, loraF16: true });
    const modelF32Lora = matmulMmaRef(p.x, mmaWeights(p.host), M, N, K, { bias: p.bias, yIn: p.yIn, lora: p.lora });
    for (const mmaTiles of [1, 2, 4]) {
      // the term goes on the matrix units where a workgroup has a subgroup to spare a tile (mmaLoraFor: NT ≤ subgroups / 2), else to the f32 epilogue
      const onUnits = mmaTiles <= kernel.mmaSubgroupsFor(mmaTiles) / 2;
      const where = onUnits ? 'on the matrix units' : 'in the epilogue (NT > subgroups / 2)';
      const got = await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles });
      check(`mma NT=${mmaTiles} LoRA ${where} ${at}`, relError(got, p.want));
      checkModel(`mma NT=${mmaTiles} LoRA ${where} ${at} against its f16 model`, relError(got, onUnits ? model : modelF32Lora));
    }
    check(`mma NT=1 LoRA on the matrix units, 2 trips ahead ${at}`, relError(await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles: 1, mmaPrefetch: 2 }), p.want));
    for (const mmaTiles of [1, 2]) check(`mma NT=${mmaTiles} LoRA on the matrix units, RMSNorm fused ${at}`, relError(await runGot(ctx, kernel, p, { variant: 'gemv', gemvMma: true, mmaTiles }, true), p.wantNorm));
    for (const mmaTiles of [2, 4]) {
      check(`mma NT=${mmaTiles} LoRA on the matrix units, SwiGLU store ${at}`, await runSwiglu(ctx, kernel, p, { gemvMma: true, mmaTiles }, false));
      check(`mma NT=${mmaTiles} LoRA on the matrix units, SwiGLU store, RMSNorm fused ${at}`, await runSwiglu(ctx, kernel, p, { gemvMma: true, mmaTiles }));
    }
    destroyWeight(ctx, p.w);
  }
  kernel.mmaLora = was;
}

/** Σ v² of each 16-column tile of each row of v [M, N] (N a multiple of 16): [M, N/16] */
function tileSumsRef(v: Float32Array, M: number, N: number): Float32Array {
  const out = new Float32Array((M * N) / 16);
  for (let i = 0; i < M * N; i++) out[Math.floor(i / 16)] += v[i] ** 2;
  return out;
}

/**
 * Σx² passed between the decode matmuls as tile sums (MatmulKernel.mmaTileSums): the o/down-like
 * producer (accumulate, bias, LoRA; N = 208, 13 tiles, NT 1 and 2) stores y and its tile sums after y in
 * the same buffer — y against the exact product and the CPU model, the sums against those of the y it
 * stored; the q|k|v- and gate|up-like consumers (the norm fused, its Σx² from tile sums placed after x,
 * the LoRA u without the rsqrt) against the exact normed product.
 */
async function checkTileSums(ctx: GpuContext, kernel: MatmulKernel, check: (name: string, err: number) => void, checkModel: (name: string, err: number) => void): Promise<void> {
  const m = ctx.memory;
  for (const M of [3, 16]) {
    const [N, K] = [208, 1536];
    const p = problem(ctx, M, N, K, 500 + M);
    const at = `M=${M} N=${N} K=${K}`;
    const model = matmulMmaRef(p.x, mmaWeights(p.host), M, N, K, { bias: p.bias, yIn: p.yIn, lora: p.lora });
    for (const mmaTiles of [1, 2]) {
      const ys = new Float32Array(M * N + (M * N) / 16);
      ys.set(p.yIn);
      const yb = m.upload('check.y', ys);
      const [xb, ub, bb] = [m.upload('check.x', p.x), m.upload('check.u', p.lora.u), m.upload('check.B', p.lora.B)];
      const rec = new Recorder(ctx, 'check');
      kernel.encode(rec, xb, p.w, yb, M, { variant: 'gemv', gemvMma: true, mmaTiles, accumulate: true, ySumSq: M * N, lora: loraOf(p, ub, bb) });
      rec.submit();
      const all = await readF32(ctx.device, yb);
      const y = all.subarray(0, M * N);
      check(`mma NT=${mmaTiles} storing tile sums of squares: y ${at}`, relError(y, p.want));
      checkModel(`mma NT=${mmaTiles} storing tile sums of squares: y ${at} against its f16 model`, relError(y, model));
      checkModel(`mma NT=${mmaTiles} storing tile sums of squares: the sums ${at} against those of its y`, relError(all.subarray(M * N), tileSumsRef(y, M, N)));
      [xb, yb, ub, bb].forEach((b) => m.destroy(b));
    }
    destroyWeight(ctx, p.w);
  }
  for (const M of [3, 16]) {
    const [N, K] = [200, 1536];
    const p = problem(ctx, M, N, K, 600 + M);
    const at = `M=${M} N=${N} K=${K}`;
    // x then its tile sums (the sums at a float offset that is a multiple of 4: M·K is)
    const xs = new Float32Array(M * K + (M * K) / 16);
    xs.set(p.x);
    xs.set(tileSumsRef(p.x, M, K), M * K);
    for (const swiglu of [false, true]) {
      const I = N / 2;
      const [xb, ub, bb, gb] = [m.upload('check.x', xs), m.upload('check.u', p.uUnscaled), m.upload('check.B', p.lora.B), m.upload('check.g', p.normW)];
      const yb = swiglu ? m.create('check.h', M * I * 4) : m.upload('check.y', p.yIn);
      const rec = new Recorder(ctx, 'check');
      kernel.encode(rec, xb, p.w, yb, M, { variant: 'gemv', gemvMma: true, accumulate: !swiglu, ySwiglu: swiglu, xNorm: { w: gb, eps: EPS, tileSums: M * K }, lora: loraOf(p, ub, bb, true) });
      rec.submit();
      const got = await readF32(ctx.device, yb);
      const want = swiglu ? swigluRef(matmulWeightRef(rmsnormRef(p.x, p.normW, M, K, EPS), p.host, M, { bias: p.bias, lora: p.lora }), M, I) : p.wantNorm;
      check(`mma RMSNorm fused, Σx² from tile sums${swiglu ? ', SwiGLU store' : ''} ${at}`, relError(got, want));
      [xb, yb, ub, bb, gb].forEach((b) => m.destroy(b));
    }
    destroyWeight(ctx, p.w);
  }
}

/**
 * The staged GEMV (x in workgroup memory) on problem p where its rows fit the device: every lane
 * count from the rows of x up (lane m stores row m) and rows a lane group; the RMSNorm fused with the
 * LoRA term summed by the lanes and in the epilogue; the SwiGLU store.
 */
async function checkStaged(ctx: GpuContext, kernel: MatmulKernel, p: Problem, check: (name: string, err: number) => void): Promise<void> {
  const { M, w } = p;
  const at = `M=${M} N=${w.N} K=${w.K}`;
  if (!kernel.canStage(w, M, true)) return;
  for (const rows of GEMV_ROWS_OPTIONS) {
    for (const lanes of stagedLaneOptions(M)) check(`gemv staged NR=${rows} LANES=${lanes} ${at}`, await run(ctx, kernel, p, { variant: 'gemv', gemvStaged: true, gemvRows: rows, gemvLanes: lanes }));
  }
  if (!kernel.normFusable) return;
  for (const loraFold of [true, false]) {
    kernel.loraFold = loraFold;
    for (const lanes of [stagedLaneOptions(M)[0] ?? 32, 32]) check(`gemv RMSNorm fused staged LANES=${lanes} ${loraFold ? 'LoRA summed by the lanes' : 'LoRA in the epilogue'} ${at}`, await run(ctx, kernel, p, { variant: 'gemv', gemvStaged: true, gemvLanes: lanes }, true));
  }
  kernel.loraFold = true;
  check(`gemv staged SwiGLU store, RMSNorm fused ${at}`, await runSwiglu(ctx, kernel, p, { gemvStaged: true }));
}
