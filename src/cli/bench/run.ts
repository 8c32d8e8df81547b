// `tabzero bench`: the 4-bit matmul kernels at Qwen2.5-1.5B shapes (decode M = 1, 8, 16 and
// training M = 3072 for 1536→8960 and 8960→1536), the tfjs-backend-webgpu f32 matMul on the same
// shapes in the same process and device, and a copy kernel's bandwidth as the roofline. On a hardware
// GPU the decode shapes also run every GEMV layout (rows per lane group 1/2/4 × lanes per row 32…256),
// and with cold weights timed on the GPU (gemv-cold.ts); `--stream`: only the decode GEMVs streamed
// over a model's layers in one pass (gemv-stream.ts).
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { acquireDevice, parseDisable, type GpuContext } from '../../gpu/device';
import { benchMmaWaves, MMA_WAVES_VARIANTS } from './mma-waves';
import { benchOccupancy } from './occupancy';
import { mmaSupport } from '../../kernels/matmul_mma';
import { nodeGpu } from '../../gpu/node';
import { BENCH_GPU_FLAGS } from './gpu-timer';
import { CopyKernel } from '../../kernels/copy';
import { GEMV_LANES_OPTIONS, GEMV_ROWS_OPTIONS, MatmulKernel, destroyWeight, uploadWeight } from '../../kernels/matmul';
import { quantizeQ4Fast } from './weights';
import { timeKernel } from './timing';
import { timeTfjsMatmul } from './peer-tfjs';
import { printTable } from './table';
import { runBenchLoad } from './load';
import { benchGemvCold } from './gemv-cold';
import { benchFmaPeak } from './fma-peak';
import { benchGemvStream, STREAM_ROWS_VARIANTS, STREAM_F16_VARIANTS, STREAM_L2_VARIANTS, STREAM_MMA_VARIANTS, STREAM_RED_VARIANTS, STREAM_SHAPES, STREAM_VARIANTS, type StreamVariant } from './gemv-stream';

export interface MatmulResult {
  impl: 'tabzero-q4' | 'tfjs-f32';
  variant: string;
  M: number;
  N: number;
  K: number;
  ms: number;
  gbps: number;
  gflops: number;
  iters: number;
}

const SHAPES: Array<[number, number]> = [[8960, 1536], [1536, 8960]]; // [N, K]: gate/up 1536→8960, down 8960→1536
/** [N, K] of the q4 decode GEMVs of Qwen2.5-1.5B the row-lane body is for (ROWLANE_MIN_N): gate|up (q|k|v, o and down: slower with it, 2026-12-06 twelfth session) */
const ROWLANE_SHAPES: Array<[number, number]> = [[17920, 1536]];

export async function runBench(argv: string[]): Promise<number> {
  if (argv.includes('--load')) return runBenchLoad(argv.filter((a) => a !== '--load'));
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      iters: { type: 'string' },
      disable: { type: 'string', default: '' },
      'no-peer': { type: 'boolean', default: false },
      'cold-only': { type: 'boolean', default: false },
      // --cold-only --rowlane: Qwen2.5-1.5B's gate|up at 4 and 8 rows of x, the default GEMV against the lane-group one and every row-lane layout
      rowlane: { type: 'boolean', default: false },
      // --stream: only the decode GEMVs streamed (gemv-stream.ts: each for 28 layers in one pass, no dependency between them)
      stream: { type: 'boolean', default: false },
      // --stream --m 1,8: only these rows of x (default 1, 8, 16)
      m: { type: 'string' },
      // --stream --stream-set rows|f16|mma|red|l2: a sweep (STREAM_ROWS_VARIANTS, …) instead of the default bodies
      'stream-set': { type: 'string', default: 'default' },
      // --fma-peak: only the multiply-add probes, f32 and (with shader-f16) f16 (fma-peak.ts: the ceiling a many-row GEMV could reach)
      'fma-peak': { type: 'boolean', default: false },
      // --mma-waves: only the subgroup-matrix matmul alone at a growing number of workgroups (mma-waves.ts: how many an SM holds)
      'mma-waves': { type: 'boolean', default: false },
      // --occupancy: only the residency probe (occupancy.ts: workgroups an SM by workgroup memory, with and without a subgroup-matrix product)
      occupancy: { type: 'boolean', default: false },
    },
  });
  const disable = parseDisable(values.disable);
  const ctx = await acquireDevice(await nodeGpu(BENCH_GPU_FLAGS), { disable });
  const quick = values.quick || ctx.adapter.isFallback;
  const trainM = quick ? 64 : 3072;
  const iters = values.iters ? Number(values.iters) : undefined;
  console.log(`adapter: ${ctx.adapter.description || ctx.adapter.vendor} (${ctx.adapter.architecture}); features ${JSON.stringify(ctx.features)}${quick ? '; quick shapes (software adapter)' : ''}`);
  console.log(`adapter features: ${ctx.adapter.featureNames.join(' ')}`);
  if (ctx.adapter.subgroupMatrixConfigs) console.log(`subgroup-matrix configs: ${JSON.stringify(ctx.adapter.subgroupMatrixConfigs)}`);

  if (values['fma-peak']) {
    const r = await benchFmaPeak(ctx, quick ? 4 : 132 * 16, quick ? 16 : 2048);
    if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, fmaPeak: r }, null, 2));
    return 0;
  }
  if (values.occupancy) {
    const matrix = mmaSupport(ctx) ? [false] : [false, true]; // mmaSupport names what is missing ('' where the matrices run)
    const r = await benchOccupancy(ctx, quick ? { smemKiB: [4], counts: [1, 2], iters: 64, matrix, chaseWords: 32 * 2048 } : { matrix });
    if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, occupancy: r }, null, 2));
    return 0;
  }
  if (values['mma-waves']) {
    const why = mmaSupport(ctx);
    if (why) throw new Error(`--mma-waves: the subgroup-matrix matmul cannot run here (${why})`);
    const r = await benchMmaWaves(ctx, await MatmulKernel.create(ctx), quick ? MMA_WAVES_VARIANTS.map((v) => ({ ...v, counts: [1, 2] })) : MMA_WAVES_VARIANTS);
    if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, mmaWaves: r }, null, 2));
    return 0;
  }
  if (values.stream) {
    const Ms = values.m ? values.m.split(',').map(Number) : [1, 8, 16];
    if (!Ms.every((m) => Number.isInteger(m) && m >= 1 && m <= 16)) throw new Error(`--m ${values.m}: expected a comma list of rows of x from 1 to 16`);
    const set = values['stream-set'];
    const sets: Record<string, StreamVariant[]> = { default: STREAM_VARIANTS, rows: STREAM_ROWS_VARIANTS, f16: STREAM_F16_VARIANTS, mma: STREAM_MMA_VARIANTS, red: STREAM_RED_VARIANTS, l2: STREAM_L2_VARIANTS };
    const variants = sets[set];
    if (!variants) throw new Error(`--stream-set ${set}: expected ${Object.keys(sets).join(', ')}`);
    const s = await benchGemvStream(ctx, await MatmulKernel.create(ctx), quick ? [['tiny', 64, 256]] : STREAM_SHAPES, Ms, quick ? 3 : 28, variants);
    if (values.json) writeFileSync(values.json, JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, stream: s }, null, 2));
    return 0;
  }
  const copy = await benchCopy(ctx, quick ? 16 << 20 : 256 << 20, iters);
  console.log(`  copy: ${copy.gbps.toFixed(1)} GB/s`);
  const results: MatmulResult[] = [];
  const kernel = await MatmulKernel.create(ctx);
  // --cold-only: just the cold-weight GEMV sweep below (a short device run)
  for (const [N, K] of values['cold-only'] ? [] : SHAPES) {
    const q = quantizeQ4Fast(N, K, N * 7 + K);
    const w = uploadWeight(ctx, { format: 'q4', N, K, q }, `w${N}x${K}`);
    for (const M of [1, 8, 16, trainM]) {
      const x = ctx.memory.create('x', M * K * 4);
      const y = ctx.memory.create('y', M * N * 4);
      const t = await timeKernel(ctx, (rec) => kernel.encode(rec, x, w, y, M), { iters });
      console.log(`  q4 M=${M} N=${N} K=${K}: ${t.ms.toFixed(4)} ms`);
      const bytes = w.bytes + M * K * 4 + M * N * 4;
      const variant = kernel.variantFor(M);
      const def = kernel.gemvShape(M, w);
      const wide = kernel.gemvWide(w) ? 'wide-' : '';
      results.push(result('tabzero-q4', variant === 'gemv' ? `gemv-${wide}nr${def.rows}-l${def.lanes}` : variant, M, N, K, t.ms, bytes, t.iters));
      // every other GEMV layout (rows per lane group × lanes per row) of both bodies (8-weight steps;
      // 32-weight steps where the weight allows), so one device run shows the best
      if (variant === 'gemv' && !quick) {
        for (const wideOpt of w.K % 32 === 0 ? [false, true] : [false]) {
          const tag = wideOpt ? 'wide-' : '';
          for (const nr of GEMV_ROWS_OPTIONS) {
            for (const lanes of GEMV_LANES_OPTIONS) {
              if (nr === def.rows && lanes === def.lanes && tag === wide) continue;
              const tn = await timeKernel(ctx, (rec) => kernel.encode(rec, x, w, y, M, { gemvWide: wideOpt, gemvRows: nr, gemvLanes: lanes }), { iters });
              console.log(`  q4 gemv ${tag}NR=${nr} LANES=${lanes} M=${M} N=${N} K=${K}: ${tn.ms.toFixed(4)} ms`);
              results.push(result('tabzero-q4', `gemv-${tag}nr${nr}-l${lanes}`, M, N, K, tn.ms, bytes, tn.iters));
            }
          }
        }
        // the default layout with the loop-form bodies (matmul_gemv{,_wide}.wgsl) instead of the unrolled ones
        kernel.gemvUnrolled = false;
        const tl = await timeKernel(ctx, (rec) => kernel.encode(rec, x, w, y, M), { iters });
        kernel.gemvUnrolled = true;
        console.log(`  q4 gemv loop form ${wide}NR=${def.rows} LANES=${def.lanes} M=${M} N=${N} K=${K}: ${tl.ms.toFixed(4)} ms`);
        results.push(result('tabzero-q4', `gemv-loop-${wide}nr${def.rows}-l${def.lanes}`, M, N, K, tl.ms, bytes, tl.iters));
      }
      // training sizes: the tiled kernel with 4 rows per thread (64-row tiles) next to the default (8 from TILED_TM8_MIN_ROWS)
      if (variant === 'tiled' && !quick) {
        const t4 = await timeKernel(ctx, (rec) => kernel.encode(rec, x, w, y, M, { tiledRows: 4 }), { iters });
        console.log(`  q4 tiled TM=4 M=${M} N=${N} K=${K}: ${t4.ms.toFixed(4)} ms`);
        results.push(result('tabzero-q4', 'tiled-tm4', M, N, K, t4.ms, bytes, t4.iters));
      }
      // the tiled kernel at decode sizes too (M padded to its 64-row tile): where it beats the GEMV, GEMV_MAX_ROWS should drop
      if (variant === 'gemv' && M > 1 && !quick) {
        const tt = await timeKernel(ctx, (rec) => kernel.encode(rec, x, w, y, M, { variant: 'tiled' }), { iters });
        console.log(`  q4 tiled M=${M} N=${N} K=${K}: ${tt.ms.toFixed(4)} ms`);
        results.push(result('tabzero-q4', 'tiled', M, N, K, tt.ms, bytes, tt.iters));
      }
      if (!values['no-peer']) {
        const p = await timeTfjsMatmul(ctx, M, N, K, iters ?? (M > 16 ? 10 : 50));
        results.push(result('tfjs-f32', 'matMul', M, N, K, p.ms, N * K * 4 + M * K * 4 + M * N * 4, p.iters));
        console.log(`  tfjs M=${M} N=${N} K=${K}: ${p.ms.toFixed(4)} ms`);
      }
      ctx.memory.destroy(x);
      ctx.memory.destroy(y);
    }
    destroyWeight(ctx, w);
  }
  // the decode shapes with cold weights, timed on the GPU, every layout and steps per trip
  // (hardware only: a software adapter takes seconds per dispatch at these shapes)
  const cold = quick ? null : values.rowlane ? await benchGemvCold(ctx, kernel, ROWLANE_SHAPES, [4, 8], 'rowlane') : await benchGemvCold(ctx, kernel, SHAPES, [1, 8, 16], true);
  const report = { date: new Date().toISOString(), adapter: ctx.adapter, features: ctx.features, limits: ctx.limits, quick, copy, matmul: results, coldGemv: cold, peakGpuBytes: ctx.memory.peak };
  printTable(copy, results);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(report, null, 2));
    console.log(`wrote ${values.json}`);
  }
  return 0;
}

function result(impl: MatmulResult['impl'], variant: string, M: number, N: number, K: number, ms: number, bytes: number, iters: number): MatmulResult {
  return { impl, variant, M, N, K, ms, gbps: bytes / (ms * 1e6), gflops: (2 * M * N * K) / (ms * 1e6), iters };
}

async function benchCopy(ctx: GpuContext, bytes: number, iters?: number): Promise<{ bytes: number; ms: number; gbps: number }> {
  const k = await CopyKernel.create(ctx);
  const a = ctx.memory.create('copy.src', bytes);
  const b = ctx.memory.create('copy.dst', bytes);
  const t = await timeKernel(ctx, (rec) => k.encode(rec, a, b, bytes / 4), { iters });
  ctx.memory.destroy(a);
  ctx.memory.destroy(b);
  return { bytes, ms: t.ms, gbps: (2 * bytes) / (t.ms * 1e6) };
}
