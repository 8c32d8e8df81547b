// The decode GEMV that reads f16 x and sums its products in f16 (gemv_body.ts BodyOpts.x16,
// MatmulOptions.gemvX16) and the RMSNorm's f16 copy that feeds it (the decode gate|up at 9–16 rows).
// SwiftShader has no shader-f16, so here: their WGSL compiles and their pipelines build on Dawn's null
// backend (every feature, Tint's checks, no arithmetic), a decode step takes them where it should, and
// on the test adapter they are refused with a hint. Their numbers are checked on a GPU with f16 (`bench-check
// --only f16`: against the exact product within F16_TOLERANCE, and against gemvF16Ref — the CPU model of
// their rounding, tested below — within F16_MODEL_TOLERANCE; bench/RESULTS.md).
import { describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/encoder';
import { MatmulKernel, uploadWeight, type MatmulOptions } from '../../src/kernels/matmul';
import { RmsNormKernel } from '../../src/kernels/rmsnorm';
import { gemvBody, gemvBody4 } from '../../src/kernels/gemv_body';
import { dequantizeWeight, packWeight } from '../../src/formats/weights';
import { gemvF16Ref, roundF16, roundF16Exact } from '../../src/reference/gemv_f16';
import { matmulRef } from '../../src/reference/matmul';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';
import { nullGpu } from '../helpers/wgsl-check';
import { tinyDecode } from '../helpers/decode-step';
import { normal } from '../helpers/random';

describe('f16 GEMV body', () => {
  it('compiles and builds with every epilogue on a device with shader-f16 (null backend)', async () => {
    const ctx = await nullGpu();
    expect(ctx.features.f16).toBe(true);
    // every module the kernel builds is compiled again here for its messages
    const sources: string[] = [];
    const getSync = ctx.pipelines.getSync.bind(ctx.pipelines);
    ctx.pipelines.getSync = (label, code, constants, entry) => (sources.push(code), getSync(label, code, constants, entry));
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [96, 1536];
    const ub = m.create('u', 16 * 48 * 4);
    const bb = m.create('B', N * 16 * 4);
    const xb = m.create('x', 16 * K * 2);
    const yb = m.create('y', 16 * N * 4);
    const lora = { u: ub, ldu: 48, B: bb, R: 16, scale: 2, slice1: 32, slice2: 64 };
    const cases: Array<[string, 'q4' | 'bf16', number, MatmulOptions]> = [
      ['16 rows, LoRA summed by the lanes, accumulate', 'q4', 16, { gemvX16: true, lora, accumulate: true }],
      ['9 rows NR=4 LANES=64', 'q4', 9, { gemvX16: true, gemvRows: 4, gemvLanes: 64 }],
      ['1 row', 'q4', 1, { gemvX16: true }],
      ['16 rows, SwiGLU store (the decode gate|up)', 'q4', 16, { gemvX16: true, ySwiglu: true, lora }],
      ['bf16 weights', 'bf16', 16, { gemvX16: true }],
    ];
    for (const [name, format, M, opts] of cases) {
      const w = uploadWeight(ctx, packWeight(format, normal(7, N * K, 0.05), N, K), `w.${name}`);
      const before = ctx.errors.length;
      sources.length = 0;
      const rec = new Recorder(ctx, name);
      kernel.encode(rec, xb, w, yb, M, { variant: 'gemv', ...opts });
      rec.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(sources.length, name).toBe(1);
      expect(sources[0].startsWith('enable f16;'), name).toBe(true);
      const info = await ctx.device.createShaderModule({ code: sources[0] }).getCompilationInfo();
      expect(info.messages.filter((x) => x.type === 'error').map((x) => `${x.lineNum}:${x.linePos} ${x.message}`), name).toEqual([]);
      expect(ctx.errors.slice(before).map((e) => e.message), name).toEqual([]);
    }
  });

  it('the RMSNorm storing an f16 copy of y (the x of a gate|up GEMV reading f16) builds with shader-f16 (null backend)', async () => {
    const ctx = await nullGpu();
    const k = await RmsNormKernel.create(ctx);
    expect(k.f16).toBe(true);
    const [x, w, y, y16] = [ctx.memory.create('x', 4 * 64 * 4), ctx.memory.create('w', 64 * 4), ctx.memory.create('y', 4 * 64 * 4), ctx.memory.create('y16', 4 * 64 * 2)];
    const before = ctx.errors.length;
    const rec = new Recorder(ctx, 'rmsnorm f16');
    k.encode(rec, x, w, y, 4, 64, 1e-6, y16);
    rec.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    expect(ctx.errors.slice(before).map((e) => e.message)).toEqual([]);
    const plain = await RmsNormKernel.create(await testGpu(['shader-f16']));
    expect(plain.f16).toBe(false);
    expect(() => plain.encode(new Recorder(ctx, 't'), x, w, y, 4, 64, 1e-6, y16)).toThrow(/shader-f16.*hint/);
  });

  it('a decode step of 16 rows takes it for gate|up from gemvX16Rows rows, after a norm storing f16 (null backend; its 8 storage buffers a shader keep RoPE out of the split attention, not out of the one-dispatch one)', async () => {
    const ctx = await nullGpu();
    const { engine, step: run, destroy } = await tinyDecode(ctx);
    // the step's pipelines by label, in dispatch order
    const step = async (T: number) => {
      const { labels, errors } = await run(T);
      expect(errors).toEqual([]);
      return labels.join(' ');
    };
    expect(engine.k.matmul.gemvX16Rows).toBe(9);
    expect(ctx.limits.maxStorageBuffersPerShaderStage).toBe(8);
    const s16 = await step(16);
    expect(s16).toMatch(/rmsnorm\S*_f16 .*matmul_gemv_q4_swiglu_x16/);
    expect(s16).toMatch(/rope_kv .*attention_gqa .*attention_gqa_combine /); // split: not its 9-buffer fused forms
    engine.k.decodeFusion = { ...engine.k.decodeFusion, attentionOne: 16 };
    expect(await step(16)).toMatch(/ attention_decode /); // the attention in one dispatch binds 8 storage buffers, RoPE and the cache write in it
    engine.k.decodeFusion = { ...engine.k.decodeFusion, attentionOne: 0 };
    expect(await step(8)).not.toMatch(/x16|_f16/);
    engine.k.matmul.gemvX16Rows = Infinity;
    expect(await step(16)).not.toMatch(/x16|_f16/);
    destroy();
  });

  it('is refused with a hint without shader-f16, with a fused norm, or as the 4-weight step', async () => {
    const ctx = await testGpu(['shader-f16']);
    const kernel = await MatmulKernel.create(ctx);
    const w = uploadWeight(ctx, packWeight('q4', normal(3, 64 * 64, 0.05), 64, 64), 'w');
    const b = ctx.memory.create('b', 16 * 64 * 4);
    expect(() => kernel.encode(new Recorder(ctx, 't'), b, w, b, 16, { variant: 'gemv', gemvX16: true })).toThrow(/shader-f16 \(device: no\).*hint/);
    expect(() => gemvBody(16, 2, { x16: true, norm: true })).toThrow(/no fused norm/);
    expect(() => gemvBody(16, 2, { x16: true, steps: 2 })).toThrow(/1 step/);
    expect(() => gemvBody4(16, 2, { x16: true })).toThrow(/8-weight/);
  });
});

describe('gemvF16Ref (the CPU model of the f16 walk)', () => {
  it('rounds to f16 as the plain conversion does', () => {
    const vs = [...normal(11, 20000, 3), ...normal(12, 2000, 1e-5), ...normal(13, 2000, 2e4), 0, -0, 65504, 65520, 1e6, 6.1e-5, 5.96e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    for (const v of vs) expect(roundF16(v)).toBe(roundF16Exact(v));
  });

  // 4–5e-4 measured here (K = 1536 and 8960)
  it('sums in f16 within 2e-3 of the exact product on Qwen-shaped rows, the epilogue in f32', () => {
    for (const [K, lanes] of [[1536, 32], [1536, 64], [8960, 128]] as const) {
      const [M, N] = [2, 24];
      const w = dequantizeWeight(packWeight('q4', normal(K, N * K, 0.05), N, K));
      const x = normal(K + 1, M * K);
      const bias = normal(K + 2, N, 0.1);
      const exact = matmulRef(x, w, M, N, K, { bias });
      const err = relError(gemvF16Ref(x, w, M, N, K, { lanes, bias }), exact).rel;
      expect(err, `K=${K} lanes=${lanes}`).toBeLessThan(2e-3);
      expect(err, 'the model rounds').toBeGreaterThan(1e-6);
    }
  });
});
