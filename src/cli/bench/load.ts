// `tabzero bench-load` (or `bench --load`): builds the Qwen2.5-1.5B-shaped random model (q4 linears,
// bf16 embedding) and reports GPU bytes (live / peak), peak host memory (rss, heapUsed sampled during
// the build) and build time; then times quantize-at-load of one BF16 8960×1536 tensor (upload +
// kernel, and the kernel alone) and checks its codes and scales against quantizeQ4. --quick (automatic on a
// software adapter) uses 2 layers, a 16k vocabulary and a 1120×1536 tensor.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { acquireDevice, type GpuContext } from '../../gpu/device';
import { nodeGpu } from '../../gpu/node';
import { BENCH_GPU_FLAGS } from './gpu-timer';
import { readBuffer } from '../../gpu/buffers';
import { parseQwen2Config, type Qwen2Config } from '../../model/config';
import { buildRandomModel } from '../../model/random';
import { destroyModel } from '../../model/weights';
import { allocWeight } from '../../model/weight-writer';
import { Q4Writer } from '../../model/q4-writer';
import { QuantizeQ4Kernel, codebookTable } from '../../kernels/quantize_q4';
import { destroyWeight } from '../../kernels/matmul';
import { NF4_CODEBOOK, quantizeQ4 } from '../../formats/q4';
import { formatBytes } from '../../model/memory';
import { timeKernel } from './timing';

/** Qwen/Qwen2.5-1.5B-Instruct config.json (the fields the engine reads; test/fixtures has the file) */
export const QWEN25_15B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 1536, intermediate_size: 8960,
  num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768,
  rms_norm_eps: 1e-6, rope_theta: 1000000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', bos_token_id: 151643,
  eos_token_id: 151645, sliding_window: 32768, max_window_layers: 21, use_sliding_window: false,
};

interface HostPeak { rss: number; heapUsed: number }

/** Samples process memory every few ms while `fn` runs. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; before: HostPeak; peak: HostPeak }> {
  const m0 = process.memoryUsage();
  const before = { rss: m0.rss, heapUsed: m0.heapUsed };
  const peak = { ...before };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  };
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    sample();
    return { value, ms, before, peak };
  } finally {
    clearInterval(timer);
  }
}

async function benchBuild(ctx: GpuContext, config: Qwen2Config) {
  ctx.memory.resetPeak();
  const live0 = ctx.memory.live;
  const r = await sampled(() => buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 1 }));
  const out = {
    ms: r.ms, modelBytes: r.value.bytes, gpuLiveBytes: ctx.memory.live - live0, gpuPeakBytes: ctx.memory.peak - live0,
    hostRssBefore: r.before.rss, hostRssPeak: r.peak.rss, hostHeapUsedBefore: r.before.heapUsed, hostHeapUsedPeak: r.peak.heapUsed,
  };
  destroyModel(ctx, r.value);
  return out;
}

/** N·K bf16 ≈ N(0, 0.02²) bit patterns (an LCG and a sum of uniforms: fast, values irrelevant for speed) */
function syntheticBf16(n: number): Uint16Array {
  const out = new Uint16Array(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    let a = 0;
    for (let k = 0; k < 4; k++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a += s / 2 ** 32; }
    f[0] = (a - 2) * 0.02 * Math.sqrt(3);
    out[i] = u[0] >>> 16;
  }
  return out;
}

async function benchQuantize(ctx: GpuContext, N: number, K: number) {
  const bits = syntheticBf16(N * K);
  const bytes = new Uint8Array(bits.buffer);
  const w = allocWeight(ctx, 'q4', N, K, 'bench.q4');
  const writer = await Q4Writer.create(ctx, 64 << 20);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    writer.write(w, 0, 'BF16', bytes, NF4_CODEBOOK);
    await ctx.device.queue.onSubmittedWorkDone();
    runs.push(performance.now() - t0);
  }
  // the kernel alone, on the tensor already on the GPU
  const kernel = await QuantizeQ4Kernel.create(ctx);
  const src = ctx.memory.upload('bench.src', bits);
  const table = ctx.memory.upload('bench.table', codebookTable(NF4_CODEBOOK));
  const k = await timeKernel(ctx, (rec) => kernel.encode(rec, src, 'BF16', N, K, w.parts[0], 0, table), { iters: 3 });
  // check: codes and scales equal quantizeQ4 of the same values, bit for bit
  const got = new Uint32Array(await readBuffer(ctx.device, w.parts[0].data as GPUBuffer));
  const gotScales = new Uint16Array(await readBuffer(ctx.device, w.parts[0].scales as GPUBuffer));
  const f32 = new Float32Array(N * K);
  new Uint32Array(f32.buffer).set(bits);
  new Uint32Array(f32.buffer).forEach((b, i, a) => { a[i] = b << 16; });
  const want = quantizeQ4(f32, N, K);
  const codesMatch = w.parts.length === 1 && got.every((v, i) => v === want.codes[i]) && gotScales.every((v, i) => v === want.scales[i]);
  [src, table].forEach((b) => ctx.memory.destroy(b));
  writer.destroy();
  destroyWeight(ctx, w);
  const best = Math.min(...runs);
  return {
    N, K, dtype: 'BF16', inputBytes: bytes.byteLength, uploadAndKernelMs: runs, bestMs: best, kernelMs: k.ms,
    inputGBps: bytes.byteLength / (best * 1e6), kernelGBps: bytes.byteLength / (k.ms * 1e6), codesMatchQuantizeQ4: codesMatch,
  };
}

export async function runBenchLoad(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'string' }, quick: { type: 'boolean', default: false } } });
  const ctx = await acquireDevice(await nodeGpu(BENCH_GPU_FLAGS));
  const quick = values.quick || ctx.adapter.isFallback;
  const json = quick ? { ...QWEN25_15B, num_hidden_layers: 2, vocab_size: 16384 } : QWEN25_15B;
  const config = parseQwen2Config(json);
  console.log(`adapter: ${ctx.adapter.description || ctx.adapter.vendor} (${ctx.adapter.architecture})${quick ? '; quick: 2 layers, vocab 16384, 1120×1536 tensor (software adapter)' : ''}`);
  const build = await benchBuild(ctx, config);
  console.log(`random model (q4 linears, bf16 embedding, ${config.numLayers} layers, vocab ${config.vocabSize}): ${build.ms.toFixed(0)} ms; ` +
    `GPU ${formatBytes(build.gpuLiveBytes)} live, ${formatBytes(build.gpuPeakBytes)} peak; ` +
    `host rss ${formatBytes(build.hostRssBefore)} → peak ${formatBytes(build.hostRssPeak)}, heapUsed ${formatBytes(build.hostHeapUsedBefore)} → peak ${formatBytes(build.hostHeapUsedPeak)}`);
  const quantize = await benchQuantize(ctx, quick ? 1120 : 8960, 1536);
  console.log(`quantize-at-load BF16 ${quantize.N}×${quantize.K} (${formatBytes(quantize.inputBytes)}): upload + kernel ${quantize.bestMs.toFixed(2)} ms ` +
    `(${(quantize.inputGBps * 1000).toFixed(1)} MB/s in), kernel ${quantize.kernelMs.toFixed(3)} ms (${(quantize.kernelGBps * 1000).toFixed(1)} MB/s in); ` +
    `codes ${quantize.codesMatchQuantizeQ4 ? 'match' : 'DIFFER FROM'} quantizeQ4`);
  const report = { date: new Date().toISOString(), adapter: ctx.adapter, quick, config: json, build, quantize, peakGpuBytes: ctx.memory.peak };
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, null, 2));
    console.log(`wrote ${values.json}`);
  }
  ctx.destroy();
  return quantize.codesMatchQuantizeQ4 ? 0 : 1;
}
