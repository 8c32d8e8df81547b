// The decode matmul of q4 and bf16 weights on subgroup matrices (src/kernels/matmul_mma.ts, shaders/matmul_mma.wgsl).
// Neither SwiftShader nor Dawn's null backend has subgroup-matrix configs, and the null backend allows
// 16 KiB of workgroup memory and 8 storage buffers, so here: the CPU model of its rounding against the
// exact product; every WGSL variant the kernel composes compiles and builds on the null backend (with
// subgroup matrices enabled, and its chunk arrays shrunk to fit 16 KiB through their override
// constants); a decode step on a null device dressed as a GPU with 16×16×16 f16 configs takes it where
// it should; and the test adapter refuses it with a hint. Its numbers are checked on a GPU that has them
// (`bench-check --only mma`: against matmulMmaRef within 1e-4, the exact product within 5e-3;
// bench/RESULTS.md).
import { describe, expect, it } from 'vitest';
import type { GpuContext } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/encoder';
import { MatmulKernel, uploadWeight, type MatmulOptions } from '../../src/kernels/matmul';
import { MMA_MIN_WORKGROUP_BYTES, MMA_TILES_OPTIONS, mmaConstants, mmaSupport, mmaTiles, mmaWorkgroupBytes, mmaWorkgroups } from '../../src/kernels/matmul_mma';
import { dequantizeWeight, packWeight } from '../../src/formats/weights';
import { matmulMmaRef, mmaWeights, mmaWeightsQ4 } from '../../src/reference/matmul_mma';
import { roundF16 } from '../../src/reference/gemv_f16';
import { matmulRef } from '../../src/reference/matmul';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';
import { normal } from '../helpers/random';
import { tinyDecode } from '../helpers/decode-step';
import { nullGpu } from '../helpers/wgsl-check';
import { MMA_WAVES_VARIANTS } from '../../src/cli/bench/mma-waves';
import { STREAM_MMA_VARIANTS } from '../../src/cli/bench/gemv-stream';

/** the chunk arrays' override constants at one 16-row chunk each: 7 KiB of workgroup memory, within the null backend's 16 KiB */
const SMALL = { CHUNK_VEC4: 288, X_VEC4: 288, RESULTS_F32: 256 };

/**
 * A null-backend device with subgroup matrices enabled, dressed as a GPU that has 16×16×16 f16 configs,
 * subgroups of 32 and 45 KiB of workgroup memory (its largest layout; or `workgroupBytes`) — and, where given, that many
 * storage buffers a shader (the null backend binds 8: pipelines with more then fail); its pipelines for the kernel
 * are built with SMALL chunk arrays, and each one's source, constants and build errors recorded.
 */
async function mmaGpu(storageBuffers?: number, workgroupBytes = mmaWorkgroupBytes(1, 64, 0, true)): Promise<{ ctx: GpuContext; built: Array<{ label: string; code: string; constants: Record<string, number>; errors: string[] }> }> {
  const real = await nullGpu();
  const built: Array<{ label: string; code: string; constants: Record<string, number>; errors: string[] }> = [];
  const pipelines = Object.create(real.pipelines) as typeof real.pipelines;
  pipelines.getSync = (label, code, constants = {}, entry) => {
    if (!label.startsWith('matmul_mma')) return real.pipelines.getSync(label, code, constants, entry);
    const d = real.device;
    d.pushErrorScope('validation');
    const pl = d.createComputePipeline({ label, layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: entry ?? 'main', constants: { ...constants, ...SMALL } } });
    const record = { label, code, constants, errors: [] as string[] };
    built.push(record);
    void d.popErrorScope().then((e) => { if (e) record.errors.push(e.message); });
    return pl;
  };
  const ctx: GpuContext = {
    ...real,
    adapter: { ...real.adapter, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 }] },
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
    limits: { ...real.limits, maxComputeWorkgroupStorageSize: workgroupBytes, ...(storageBuffers ? { maxStorageBuffersPerShaderStage: storageBuffers } : {}) },
    pipelines,
  };
  return { ctx, built };
}

describe('subgroup-matrix matmul', () => {
  it('builds every variant it composes (tiles, SwiGLU store, LoRA, bias, accumulate, the four q4 decodes, 32- and 64-weight chunks, results added in rounds, bf16 weights) on a device with subgroup matrices (null backend)', async () => {
    const { ctx, built } = await mmaGpu();
    expect(mmaSupport(ctx)).toBe('');
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [200, 1536];
    const lora = { u: m.create('u', 16 * 48 * 4), ldu: 48, B: m.create('B', N * 16 * 4), R: 16, scale: 2, slice1: 100, slice2: 150 };
    const w = uploadWeight(ctx, packWeight('q4', normal(7, N * K, 0.05), N, K), 'w', normal(8, N, 0.1));
    const [x, y] = [m.create('x', 16 * K * 4), m.create('y', 16 * N * 4)];
    const cases: Array<[string, number, MatmulOptions]> = [
      ...MMA_TILES_OPTIONS.map((t): [string, number, MatmulOptions] => [`${t} tiles, LoRA, accumulate`, 16, { mmaTiles: t, lora, accumulate: true }]),
      ['9 rows, table decode', 9, { mmaDecode: 0 }],
      ['2 tiles, shuffle decode in loops', 16, { mmaTiles: 2, mmaDecode: 1 }],
      ['codes from the codebook buffer, 1 tile', 16, { mmaTiles: 1, mmaDecode: 3 }], ['codes from the codebook buffer, 2 tiles', 16, { mmaTiles: 2, mmaDecode: 3 }],
      ['2 trips ahead, LoRA, accumulate', 16, { mmaPrefetch: 2, lora, accumulate: true }],
      ['loads at the trip start, LoRA', 16, { mmaPrefetch: 0, lora }],
      ['serial (barriers between products and words)', 16, { mmaSerial: true }],
      ['SwiGLU store, LoRA', 16, { ySwiglu: true, lora }],
      ['SwiGLU store, 8 tiles', 3, { ySwiglu: true, mmaTiles: 8 }],
      ...[1, 2, 4].map((t): [string, number, MatmulOptions] => [`${t} tiles, 32-weight chunks, results a subgroup a round, LoRA, accumulate`, 16, { mmaTiles: t, mmaChunk: 32, mmaRounds: 2, lora, accumulate: true }]),
      ['32-weight chunks, results a K-phase a round, table decode', 5, { mmaTiles: 2, mmaChunk: 32, mmaRounds: 1, mmaDecode: 0 }],
      ['results a subgroup a round, 64-weight chunks', 16, { mmaRounds: 2 }],
      ['SwiGLU store, 32-weight chunks, LoRA', 16, { ySwiglu: true, mmaChunk: 32, mmaRounds: 2, lora }],
      // 128-thread workgroups (4 subgroups, two rows of x a thread)
      ...[1, 2, 4].map((t): [string, number, MatmulOptions] => [`4 subgroups, ${t} tiles, accumulate`, 16, { mmaSubgroups: 4, mmaTiles: t, accumulate: true }]),
      ['4 subgroups, 1 tile, LoRA, 2 trips ahead', 16, { mmaSubgroups: 4, mmaTiles: 1, lora, mmaPrefetch: 2 }],
      ['4 subgroups, 2 tiles, 32-weight chunks, results a subgroup a round, LoRA', 16, { mmaSubgroups: 4, mmaTiles: 2, mmaChunk: 32, mmaRounds: 2, lora }],
      ['4 subgroups, results a K-phase a round, table decode, 5 rows', 5, { mmaSubgroups: 4, mmaTiles: 2, mmaChunk: 32, mmaRounds: 1, mmaDecode: 0 }],
      ['4 subgroups, SwiGLU store, LoRA', 16, { mmaSubgroups: 4, ySwiglu: true, lora }],
    ];
    const bf = uploadWeight(ctx, packWeight('bf16', normal(12, N * K, 0.05), N, K), 'bf');
    for (const [name, M, opts, wt] of [...cases.map(([n, M, o]): [string, number, MatmulOptions, typeof w] => [n, M, o, w]), ['bf16 weights (the LM head)', 16, {}, bf] as [string, number, MatmulOptions, typeof w]]) {
      built.length = 0;
      const rec = new Recorder(ctx, name);
      kernel.encode(rec, x, wt, y, M, { variant: 'gemv', gemvMma: true, ...opts });
      rec.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(built.length, name).toBe(1);
      const info = await ctx.device.createShaderModule({ code: built[0].code }).getCompilationInfo();
      expect(info.messages.filter((e) => e.type === 'error').map((e) => `${e.lineNum}:${e.linePos} ${e.message}`), name).toEqual([]);
      expect(built[0].errors, name).toEqual([]);
      expect(built[0].constants.NT, name).toBe(opts.mmaTiles ?? mmaTiles(N, !!opts.ySwiglu));
      const nt = built[0].constants.NT;
      const sgs = opts.mmaSubgroups ?? kernel.mmaSubgroupsFor(nt);
      expect(kernel.mmaSubgroupsFor(nt), name).toBe(nt === 2 ? 4 : 8); // the default: 128 threads at 2 tiles
      expect(built[0].constants.SGS, name).toBe(sgs);
      expect(built[0].constants.KC, name).toBe(opts.mmaChunk ?? (nt === 1 ? kernel.mmaChunk1 : nt <= sgs / 2 ? kernel.mmaChunk2 : 64));
      expect(built[0].constants.RS_ROUNDS, name).toBe(opts.mmaRounds ?? (nt === 1 ? kernel.mmaRounds1 : kernel.mmaRounds2));
      // the code-byte table (1 KiB of workgroup memory) only where the q4 decode reads it
      expect(built[0].code.includes('var<workgroup> lut2'), name).toBe(wt === w && (opts.mmaDecode ?? kernel.mmaDecode) === 0);
    }
    // the bf16 decode at 32-weight chunks
    built.length = 0;
    kernel.encode(new Recorder(ctx, 'bf16 KC=32'), x, bf, y, 16, { variant: 'gemv', gemvMma: true, mmaChunk: 32, mmaRounds: 2 });
    await ctx.device.queue.onSubmittedWorkDone();
    expect(built[0].errors).toEqual([]);
    expect(built[0].constants).toMatchObject({ KC: 32, RS_ROUNDS: 2, RESULTS_F32: 256 });
    // 32-weight chunks need 4 tiles or fewer (the defaults fall back to 64 at 8)
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaTiles: 8, mmaChunk: 32 })).toThrow(/32-weight chunks need 4 tiles a workgroup or fewer.*got 8; hint: mmaChunk 64/);
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaChunk: 16 as 32 })).toThrow(/mmaChunk/);
    // 4 subgroups: at most 4 tiles, 32-weight chunks at most 2
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaSubgroups: 4, mmaTiles: 8 })).toThrow(/8 tiles a workgroup need that many subgroups, the workgroup has 4; hint: mmaTiles 4 or fewer/);
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaSubgroups: 4, mmaTiles: 4, mmaChunk: 32 })).toThrow(/32-weight chunks need 2 tiles a workgroup or fewer at 4 subgroups/);
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaSubgroups: 2 as 4 })).toThrow(/mmaSubgroups/);
  });

  it("builds every layout and probe bench --mma-waves and the stream's mma set time (null backend)", async () => {
    const { ctx, built } = await mmaGpu();
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [128, 1536];
    const w = uploadWeight(ctx, packWeight('q4', normal(17, N * K, 0.05), N, K), 'w');
    const [x, y] = [m.create('x', 16 * K * 4), m.create('y', 16 * N * 4)];
    expect(MMA_WAVES_VARIANTS.map((v) => v.name)).toContain('NT=2 KC=32, results a subgroup a round (16 KiB)'); // each layout's memory in its name, as bench/RESULTS.md quotes them
    const variants = [...MMA_WAVES_VARIANTS.map((v) => ({ name: v.name, opts: { mmaTiles: v.tiles, ...v.opts } })), ...STREAM_MMA_VARIANTS.filter((v) => v.opts.gemvMma)];
    for (const v of variants) {
      built.length = 0;
      const rec = new Recorder(ctx, v.name);
      kernel.encode(rec, x, w, y, 16, { variant: 'gemv', gemvMma: true, ...v.opts });
      rec.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(built.length, v.name).toBe(1);
      expect(built[0].errors, v.name).toEqual([]);
    }
  });

  it('takes the LoRA term on the matrix units where its rank is 16 and its slices start on 16-row tiles, up to 4 tiles a workgroup (null backend)', async () => {
    const { ctx, built } = await mmaGpu();
    const kernel = await MatmulKernel.create(ctx);
    kernel.mmaLora = true; // (whatever the default)
    const m = ctx.memory;
    const [N, K] = [256, 128];
    const w = uploadWeight(ctx, packWeight('q4', normal(41, N * K, 0.05), N, K), 'w');
    const [x, y] = [m.create('x', 16 * K * 4), m.create('y', 16 * N * 4)];
    const lora = (R: number, slice1: number) => ({ u: m.create('u', 16 * 3 * R * 4), ldu: 3 * R, B: m.create('B', N * R * 4), R, scale: 2, slice1, slice2: 192 });
    const cases: Array<[string, MatmulOptions, number]> = [
      ['1 tile', { mmaTiles: 1, lora: lora(16, 128) }, 1], ['2 tiles, accumulate', { mmaTiles: 2, lora: lora(16, 128), accumulate: true }, 1], ['4 tiles', { mmaTiles: 4, lora: lora(16, 128) }, 1],
      ['SwiGLU store', { ySwiglu: true, lora: lora(16, 128) }, 1], ['SwiGLU store, 4 tiles', { ySwiglu: true, mmaTiles: 4, lora: lora(16, 128) }, 1],
      ['8 tiles: lora_term()', { mmaTiles: 8, lora: lora(16, 128) }, 0], ['rank 8: lora_term()', { lora: lora(8, 128) }, 0], ['a slice off the tiles: lora_term()', { lora: lora(16, 100) }, 0],
    ];
    for (const [name, opts, want] of cases) {
      built.length = 0;
      const rec = new Recorder(ctx, name);
      kernel.encode(rec, x, w, y, 16, { variant: 'gemv', gemvMma: true, ...opts });
      rec.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(built[0].constants.LORA_MMA, name).toBe(want);
      const info = await ctx.device.createShaderModule({ code: built[0].code }).getCompilationInfo();
      expect(info.messages.filter((e) => e.type === 'error').map((e) => `${e.lineNum}:${e.linePos} ${e.message}`), name).toEqual([]);
      expect(built[0].errors, name).toEqual([]);
    }
    kernel.mmaLora = false;
    built.length = 0;
    kernel.encode(new Recorder(ctx, 'off'), x, w, y, 16, { variant: 'gemv', gemvMma: true, lora: lora(16, 128) });
    expect(built[0].constants.LORA_MMA).toBe(0);
  });

  it('the fused RMSNorm (Σx² from the rows or from tile sums), the stored tile sums and saved rows compile (their 9 and 11 storage buffers are more than the null backend binds)', async () => {
    const { ctx, built } = await mmaGpu(16);
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [64, 128];
    const w = uploadWeight(ctx, packWeight('q4', normal(9, N * K, 0.05), N, K), 'w');
    const [x, y, g, b] = [m.create('x', 16 * K * 4), m.create('y', 16 * N * 4), m.create('g', K * 4), m.create('b', 64)];
    const cases: MatmulOptions[] = [
      { xNorm: { w: g, eps: 1e-6 } }, { xNorm: { w: g, eps: 1e-6 }, ySwiglu: true }, { save: { pos: b, map: b, dst: y } },
      { xNorm: { w: g, eps: 1e-6, tileSums: 16 * K } }, { xNorm: { w: g, eps: 1e-6, tileSums: 16 * K }, ySwiglu: true },
      { ySumSq: 16 * N, accumulate: true }, { ySumSq: 16 * N, accumulate: true, save: { pos: b, map: b, dst: y } },
      { xNorm: { w: g, eps: 1e-6, tileSums: 16 * K }, ySwiglu: true, mmaSubgroups: 4 }, { xNorm: { w: g, eps: 1e-6 }, mmaSubgroups: 4 }, { ySumSq: 16 * N, accumulate: true, mmaSubgroups: 4 },
    ];
    for (const opts of cases) {
      built.length = 0;
      const rec = new Recorder(ctx, 'norm');
      rec.dispatch = () => {}; // the pipeline is invalid here: build it, bind nothing
      kernel.encode(rec, x, w, y, 16, { variant: 'gemv', gemvMma: true, ...opts });
      expect(built.length).toBe(1);
      const info = await ctx.device.createShaderModule({ code: built[0].code }).getCompilationInfo();
      expect(info.messages.filter((e) => e.type === 'error').map((e) => e.message)).toEqual([]);
      await ctx.device.queue.onSubmittedWorkDone();
      for (const e of built[0].errors) expect(e).toMatch(/number of storage buffers \((9|11)\)/);
      expect(built[0].constants.SQ_IN).toBe(opts.xNorm?.tileSums !== undefined ? 1 : 0);
      expect(built[0].constants.SQ_OUT).toBe(opts.ySumSq !== undefined ? 1 : 0);
    }
  });

  it('refuses tile sums of squares it cannot take, with a hint', async () => {
    const { ctx } = await mmaGpu(16);
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const w = uploadWeight(ctx, packWeight('q4', normal(31, 200 * 128, 0.05), 200, 128), 'w200');
    const w64 = uploadWeight(ctx, packWeight('q4', normal(32, 64 * 128, 0.05), 64, 128), 'w64');
    const [x, y, g] = [m.create('x', 17 * 200 * 4), m.create('y', 17 * 200 * 4), m.create('g', 128 * 4)];
    const enc = (wt: typeof w, M: number, opts: MatmulOptions) => kernel.encode(new Recorder(ctx, 't'), x, wt, y, M, { variant: 'gemv', ...opts });
    expect(() => enc(w, 16, { ySumSq: 0 })).toThrow(/multiple of 16.*ldy 200, N 200.*hint: leave ySumSq out/);
    expect(() => enc(w64, 16, { ySumSq: 0, ySwiglu: true })).toThrow(/no SwiGLU store/);
    expect(() => enc(w64, 16, { xNorm: { w: g, eps: 1e-6, unscaled: true, tileSums: 0 } })).toThrow(/scaled norm.*hint: leave tileSums out/);
    expect(() => enc(w64, 16, { xNorm: { w: g, eps: 1e-6, tileSums: 2 } })).toThrow(/vec4-aligned offset \(got 2\)/);
    // 17 rows: a chunk of 16 on subgroup matrices, then 1 row on a GEMV, which stores no sums
    expect(kernel.mmaEvery(w64, 16)).toBe(true);
    expect(kernel.mmaEvery(w64, 17)).toBe(false);
    expect(() => enc(w64, 17, { ySumSq: 0 })).toThrow(/1 rows of x \(rows 16–16\).*another kernel.*hint: ask mmaEvery/);
  });

  it('a decode step of 16 rows takes it for every q4 weight and the bf16 LM head (the norm as a kernel where the device binds 8 storage buffers), not at 8 rows (null backend)', async () => {
    const { ctx, built } = await mmaGpu();
    const { engine, step: run, destroy } = await tinyDecode(ctx);
    const step = async (T: number) => {
      const { labels, errors } = await run(T, true);
      expect(errors).toEqual([]);
      return labels;
    };
    expect(engine.k.matmul.gemvMmaRows).toBe(9);
    built.length = 0;
    const layer = (await step(16)).join(' ').split('embed')[1];
    // per layer: norm → q|k|v → attention → o → norm → gate|up storing h → down
    expect(layer).toMatch(/rmsnorm\S* matmul_mma_q4 rope_kv attention_gqa attention_gqa_combine matmul_mma_q4 rmsnorm\S* matmul_mma_q4_swiglu matmul_mma_q4 /);
    expect(layer).not.toMatch(/matmul_gemv_q4/);
    expect(layer).toMatch(/matmul_mma_bf16\s*$/); // the LM head (the tied bf16 embedding)
    expect(built.flatMap((b) => b.errors)).toEqual([]);
    expect((await step(8)).join(' ')).not.toMatch(/matmul_mma/);
    destroy();
  });

  it('a decode step of 16 rows on a device binding 9 storage buffers passes Σx² as tile sums: both norms fused, no norm kernel in a layer (null backend)', async () => {
    const { ctx, built } = await mmaGpu(16);
    const { engine, step, destroy } = await tinyDecode(ctx);
    expect(engine.k.matmul.mmaTileSums).toBe(true);
    built.length = 0;
    const { labels } = await step(16, true, false); // built, not dispatched: the null backend binds 8 storage buffers, so the 9-buffer pipelines are invalid there
    const layers = labels.join(' ').split('embed')[1];
    // layer 0: q|k|v norms x from its rows, o stores tile sums, gate|up norms from them (storing h), down stores them; layer 1's q|k|v reads them
    expect(layers).toMatch(/^ matmul_mma_q4_norm attention_gqa attention_gqa_combine\S* matmul_mma_q4_sqout matmul_mma_q4_swiglu_sqin_norm matmul_mma_q4_sqout matmul_mma_q4_sqin_norm /);
    expect(layers.match(/rmsnorm/g)).toHaveLength(1); // the final norm only
    expect(layers).toMatch(/rmsnorm\S* matmul_mma_bf16\s*$/);
    for (const b of built) for (const e of b.errors) expect(e).toMatch(/number of storage buffers \(9\)/);
    // 8 rows: the GEMVs, no sums
    expect((await step(8, false, false)).labels.join(' ')).not.toMatch(/sq(in|out)/);
    destroy();
  });

  it('is refused with a hint where the device has no subgroup matrices, and the GEMVs run instead', async () => {
    const ctx = await testGpu();
    expect(mmaSupport(ctx)).toMatch(/subgroup-matrix/);
    const kernel = await MatmulKernel.create(ctx);
    const w = uploadWeight(ctx, packWeight('q4', normal(3, 64 * 64, 0.05), 64, 64), 'w');
    const b = ctx.memory.create('b', 16 * 64 * 4);
    expect(kernel.mmaFor(w, 16)).toBe(false);
    expect(() => kernel.encode(new Recorder(ctx, 't'), b, w, b, 16, { variant: 'gemv', gemvMma: true })).toThrow(/subgroup matrices \(here: no chromium-experimental-subgroup-matrix\).*hint/);
    const { ctx: mctx } = await mmaGpu();
    const k2 = await MatmulKernel.create(mctx);
    const odd = uploadWeight(mctx, packWeight('q4', normal(4, 64 * 96, 0.05), 64, 96), 'odd');
    expect(() => k2.encode(new Recorder(mctx, 't'), b, odd, b, 16, { variant: 'gemv', gemvMma: true })).toThrow(/K a multiple of 64 \(got q4, K = 96\)/);
    expect(() => k2.encode(new Recorder(mctx, 't'), b, uploadWeight(mctx, packWeight('q4', normal(5, 64 * 64, 0.05), 64, 64), 'w2'), b, 16, { variant: 'gemv', gemvMma: true, ySwiglu: true, mmaTiles: 1 })).toThrow(/mmaTiles must be 2 or more/);
  });

  it('lays out tiles for two workgroups an SM of a large GPU where the weight has the rows', () => {
    expect(mmaTiles(17920, true)).toBe(2); // gate|up: 560 workgroups
    expect(mmaTiles(1536, false)).toBe(1); // o, down: 96
    expect(mmaTiles(151936, false)).toBe(2); // the LM head: never more than 2 (longer walks)
    expect(mmaTiles(64, true)).toBe(2); // the SwiGLU store pairs a gate tile with its up tile
    expect(mmaWorkgroups(17920, 2, true)).toBe(560);
    expect(mmaWorkgroups(200, 1, false)).toBe(13);
    expect(mmaConstants(2)).toEqual({ NT: 2, KC: 64, RS_ROUNDS: 0, SGS: 8, X_VEC4: 4 * 16 * 18, CHUNK_VEC4: 8 * 16 * 18, RESULTS_F32: 2048 });
    expect(mmaConstants(2, 32, 1)).toEqual({ NT: 2, KC: 32, RS_ROUNDS: 1, SGS: 8, X_VEC4: 4 * 16 * 10, CHUNK_VEC4: 8 * 16 * 10, RESULTS_F32: 512 });
    expect(mmaConstants(2, 32, 2, 4)).toEqual({ NT: 2, KC: 32, RS_ROUNDS: 2, SGS: 4, X_VEC4: 2 * 16 * 10, CHUNK_VEC4: 4 * 16 * 10, RESULTS_F32: 256 });
    expect(mmaConstants(1, 64, 0, 4)).toEqual({ NT: 1, KC: 64, RS_ROUNDS: 0, SGS: 4, X_VEC4: 4 * 16 * 18, CHUNK_VEC4: 4 * 16 * 18, RESULTS_F32: 1024 });
  });

  it('takes its smallest layout where the device allows less workgroup memory than the asked one, and is refused below that with a hint (null backend)', async () => {
    const { ctx, built } = await mmaGpu(undefined, 32768); // D3D12's limit
    expect(mmaSupport(ctx)).toBe('');
    const kernel = await MatmulKernel.create(ctx);
    const m = ctx.memory;
    const [N, K] = [64, 1536];
    const w = uploadWeight(ctx, packWeight('q4', normal(61, N * K, 0.05), N, K), 'w');
    const [x, y] = [m.create('x', 16 * K * 4), m.create('y', 16 * N * 4)];
    const layout = async (opts: MatmulOptions) => {
      built.length = 0;
      const rec = new Recorder(ctx, 'fit');
      kernel.encode(rec, x, w, y, 16, { variant: 'gemv', gemvMma: true, ...opts });
      rec.submit();
      await ctx.device.queue.onSubmittedWorkDone();
      expect(built[0].errors).toEqual([]);
      return [built[0].constants.KC, built[0].constants.RS_ROUNDS];
    };
    expect(await layout({ mmaTiles: 1 })).toEqual([32, 2]); // 44 KiB asked (64-weight chunks): 21 KiB taken
    expect(await layout({ mmaTiles: 2 })).toEqual([32, 2]); // the default at 2 tiles fits
    expect(await layout({ mmaTiles: 8 })).toEqual([64, 2]); // 8 tiles: 64-weight chunks, the results in rounds
    expect(await layout({ mmaTiles: 1, mmaChunk: 32 })).toEqual([32, 0]); // named, and it fits: as named
    expect(() => kernel.encode(new Recorder(ctx, 'x'), x, w, y, 16, { variant: 'gemv', gemvMma: true, mmaTiles: 1, mmaChunk: 64 })).toThrow(/1 tiles a workgroup with 64-weight chunks and results rounds 0 need 45056 bytes of workgroup memory, the device allows 32768; hint: leave mmaChunk and mmaRounds out/);
    const { ctx: small } = await mmaGpu(undefined, 16384); // WebGPU's default
    expect(mmaSupport(small)).toBe(`16384 bytes of workgroup memory, needs ${MMA_MIN_WORKGROUP_BYTES}`);
    expect(MMA_MIN_WORKGROUP_BYTES).toBe(22784);
  });

  it('sizes its workgroup memory by layout: an H100 SM holds 48 KiB of it for all its workgroups (bench --occupancy)', () => {
    expect(mmaWorkgroupBytes(1, 64, 0, true)).toBe(46080); // 1 tile, 64-weight chunks, the table decode: the largest layout
    expect(mmaWorkgroupBytes(1)).toBe(45056);
    expect(mmaWorkgroupBytes(2)).toBe(35840); // gate|up's until now: one workgroup an SM
    expect(mmaWorkgroupBytes(2, 32, 0)).toBe(23552); // two
    expect(mmaWorkgroupBytes(2, 32, 2)).toBe(16384); // three
    expect(mmaWorkgroupBytes(4, 32, 2)).toBe(13824);
    expect(mmaWorkgroupBytes(1, 32, 2, true)).toBe(22528);
    expect(() => mmaConstants(8, 32)).toThrow(/4 tiles a workgroup or fewer/);
    // 128-thread workgroups: half the W chunks, x chunks and results
    expect(mmaWorkgroupBytes(2, 32, 2, false, 4)).toBe(8704); // five an SM by memory
    expect(mmaWorkgroupBytes(1, 64, 0, false, 4)).toBe(22528); // two
  });
});

describe('matmulMmaRef (the CPU model of its f16 inputs)', () => {
  it('rounds bf16 weights to f16', () => {
    const host = packWeight('bf16', normal(22, 64, 0.05), 4, 16);
    expect(Array.from(mmaWeights(host))).toEqual(Array.from(dequantizeWeight(host), roundF16));
    expect(() => mmaWeights(packWeight('i8', normal(23, 64, 0.05), 4, 16))).toThrow(/q4 or bf16/);
  });

  it('models the LoRA term on the matrix units: u·scale and B rounded to f16', () => {
    const [M, N, K, R] = [2, 4, 64, 16];
    const x = normal(51, M * K);
    const w16 = normal(52, N * K, 0.05).map(roundF16);
    const lora = { u: normal(53, M * R), ldu: R, B: normal(54, N * R, 0.3), R, scale: 2 };
    const exact = matmulMmaRef(x, w16, M, N, K, { lora });
    const f16 = matmulMmaRef(x, w16, M, N, K, { lora, loraF16: true });
    const rounded = matmulMmaRef(x, w16, M, N, K, { lora: { ...lora, u: lora.u.map((v) => roundF16(2 * v)), B: lora.B.map(roundF16), scale: 1 } });
    expect(Array.from(f16)).toEqual(Array.from(rounded));
    const err = relError(f16, exact).rel;
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(2e-3);
  });

  it('decodes the weights as the kernel does: the codebook and the product rounded to f16', () => {
    const [N, K] = [8, 128];
    const host = packWeight('q4', normal(21, N * K, 0.05), N, K);
    if (host.format !== 'q4') throw new Error('q4');
    const w = dequantizeWeight(host);
    const w16 = mmaWeightsQ4(host.q);
    for (let i = 0; i < w.length; i++) {
      expect(w16[i]).toBe(roundF16(w16[i]));
      expect(Math.abs(w16[i] - w[i])).toBeLessThanOrEqual(Math.abs(w[i]) * 2 ** -10 + 1e-12);
    }
  });

  // 2–4e-4 measured here
  it('is within 2e-3 of the exact product on Qwen-shaped rows, the epilogue in f32', () => {
    for (const K of [1536, 8960]) {
      const [M, N] = [3, 16];
      const host = packWeight('q4', normal(K, N * K, 0.05), N, K);
      if (host.format !== 'q4') throw new Error('q4');
      const x = normal(K + 1, M * K);
      const bias = normal(K + 2, N, 0.1);
      const exact = matmulRef(x, dequantizeWeight(host), M, N, K, { bias });
      const err = relError(matmulMmaRef(x, mmaWeightsQ4(host.q), M, N, K, { bias }), exact).rel;
      expect(err, `K=${K}`).toBeLessThan(2e-3);
      expect(err, 'the model rounds').toBeGreaterThan(1e-6);
    }
  });
});
