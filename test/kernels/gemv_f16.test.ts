// The decode GEMVs that sum their products in f16 (gemv_body.ts BodyOpts.f16, MatmulOptions.gemvF16).
// SwiftShader has no shader-f16, so here: their WGSL compiles and their pipelines build on Dawn's null
// backend (every feature, Tint's checks, no arithmetic), and on the test adapter they are refused with
// a hint and never chosen by default. Their numbers are checked on a GPU with f16 (`bench-check
// --only f16`: against the CPU reference within F16_TOLERANCE; bench/RESULTS.md).
import { describe, expect, it } from 'vitest';
import { acquireDevice, type GpuContext } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/node';
import { Recorder } from '../../src/gpu/encoder';
import { MatmulKernel, uploadWeight, type MatmulOptions } from '../../src/kernels/matmul';
import { RmsNormKernel } from '../../src/kernels/rmsnorm';
import { gemvBody, gemvBody4 } from '../../src/kernels/gemv_body';
import { dequantizeWeight, packWeight } from '../../src/formats/weights';
import { gemvF16Ref, roundF16, roundF16Exact } from '../../src/reference/gemv_f16';
import { matmulRef } from '../../src/reference/matmul';
import { rmsnormRef } from '../../src/reference/rmsnorm';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';

let nullCtx: Promise<GpuContext> | null = null;
function nullGpu(): Promise<GpuContext> {
  nullCtx ??= nodeGpu(['backend=null']).then((gpu) => acquireDevice(gpu));
  return nullCtx;
}

describe('f16 GEMV bodies', () => {
  it('compile and build with every epilogue on a device with shader-f16 (null backend)', async () => {
    const ctx = await nullGpu();
    expect(ctx.features.f16).toBe(true);
    // every module the kernel builds is compiled again here for its messages; the fused-norm GEMVs bind 9
    // storage buffers (GEMV_NORM_STORAGE_BUFFERS) where the null adapter allows 8, so for them only the
    // module is checked (the limit is lifted so the kernel encodes them; their pipeline fails on the count)
    ctx.limits.maxStorageBuffersPerShaderStage = Math.max(ctx.limits.maxStorageBuffersPerShaderStage, 10);
    const sources: string[] = [];
    const getSync = ctx.pipelines.getSync.bind(ctx.pipelines);
    ctx.pipelines.getSync = (label, code, constants, entry) => (sources.push(code), getSync(label, code, constants, entry));
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [96, 1536];
    const gb = m.create('g', K * 4);
    const ub = m.create('u', 16 * 48 * 4);
    const bb = m.create('B', N * 16 * 4);
    const xb = m.create('x', 16 * K * 4);
    const yb = m.create('y', 16 * N * 4);
    const lora = { u: ub, ldu: 48, B: bb, R: 16, scale: 2, slice1: 32, slice2: 64 };
    const norm = { w: gb, eps: 1e-6 };
    const cases: Array<[string, 'q4' | 'bf16', number, MatmulOptions]> = [
      ['cvt 16 rows', 'q4', 16, { gemvF16: 'cvt' }],
      ['cvt 8 rows NR=4, LoRA in lanes, accumulate', 'q4', 8, { gemvF16: 'cvt', gemvRows: 4, lora, accumulate: true }],
      ['cvt bf16 (the LM head)', 'bf16', 16, { gemvF16: 'cvt' }],
      ['x16 16 rows, LoRA, accumulate', 'q4', 16, { gemvF16: 'x16', lora, accumulate: true }],
      ['x16 1 row', 'q4', 1, { gemvF16: 'x16' }],
      ['cvt RMSNorm fused, Σx² in the walk', 'q4', 16, { gemvF16: 'cvt', xNorm: norm, gemvNormPrologue: false }],
      ['cvt RMSNorm fused, Σx² prologue, LoRA unscaled', 'q4', 16, { gemvF16: 'cvt', xNorm: norm, gemvNormPrologue: true, lora: { ...lora, uUnscaled: true } }],
      ['cvt SwiGLU store, RMSNorm fused', 'q4', 16, { gemvF16: 'cvt', ySwiglu: true, xNorm: norm, lora: { ...lora, uUnscaled: true } }],
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
      if (!opts.xNorm) expect(ctx.errors.slice(before).map((e) => e.message), name).toEqual([]);
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

  it('are refused with a hint without shader-f16, and never the default there', async () => {
    const ctx = await testGpu(['shader-f16']);
    const kernel = await MatmulKernel.create(ctx);
    const w = uploadWeight(ctx, packWeight('q4', normal(3, 64 * 64, 0.05), 64, 64), 'w');
    const b = ctx.memory.create('b', 16 * 64 * 4);
    expect(() => kernel.encode(new Recorder(ctx, 't'), b, w, b, 16, { variant: 'gemv', gemvF16: 'cvt' })).toThrow(/shader-f16 \(device: no\).*hint/);
    kernel.gemvF16Rows = 1;
    expect(kernel.f16For(w, 16, {}, false)).toBe(false);
  });

  it('refuse the modes their steps cannot take', () => {
    expect(() => gemvBody(16, 2, { f16: 'cvt' })).toThrow(/x16/);
    expect(() => gemvBody(16, 2, { f16: 'x16', norm: true })).toThrow(/no fused norm/);
    expect(() => gemvBody4(16, 2, { f16: 'x16' })).toThrow(/cvt/);
    expect(() => gemvBody4(16, 2, { f16: 'cvt', steps: 2 })).toThrow(/1 step/);
  });
});

describe('gemvF16Ref (the CPU model of the f16 walk)', () => {
  it('rounds to f16 as the plain conversion does', () => {
    const vs = [...normal(11, 20000, 3), ...normal(12, 2000, 1e-5), ...normal(13, 2000, 2e4), 0, -0, 65504, 65520, 1e6, 6.1e-5, 5.96e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    for (const v of vs) expect(roundF16(v)).toBe(roundF16Exact(v));
  });

  // measured here: 4.0e-4 (K = 1536, 64 lanes), 4.8e-4 (K = 8960, 128 lanes), 5.4e-4 (8-weight steps)
  it('sums in f16 within 2e-3 of the exact product on Qwen-shaped rows, the epilogue in f32', () => {
    for (const [K, lanes, width] of [[1536, 64, 4], [8960, 128, 4], [1536, 32, 8]] as const) {
      const [M, N] = [2, 24];
      const w = dequantizeWeight(packWeight('q4', normal(K, N * K, 0.05), N, K));
      const x = normal(K + 1, M * K);
      const bias = normal(K + 2, N, 0.1);
      const exact = matmulRef(x, w, M, N, K, { bias });
      const err = relError(gemvF16Ref(x, w, M, N, K, { lanes, width, bias }), exact).rel;
      expect(err, `K=${K} lanes=${lanes}`).toBeLessThan(2e-3);
      expect(err, 'the model rounds').toBeGreaterThan(1e-6);
      const g = normal(K + 3, K, 0.5);
      const xn = rmsnormRef(x, g, M, K, 1e-6);
      expect(relError(gemvF16Ref(x, w, M, N, K, { lanes, width, norm: { w: g, eps: 1e-6 } }), matmulRef(xn, w, M, N, K)).rel, `norm K=${K}`).toBeLessThan(2e-3);
    }
  });
});
