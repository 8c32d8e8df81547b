// `bench-rollout`'s decode-step timings: the step's parts (layers, LM head, sampling) on the GPU
// clock, the decode loop with every step's pass timestamped (is the GPU busy?), one step's dispatches
// each timed and left out in turn, and the step under each decode fusion setting (FUSIONS, --fusion)
// and each choice of the GEMVs' 4-weight step (STEP4_CHOICES), of the row-lane GEMV (ROWLANE_CHOICES),
// of the fused norm (NORM_CHOICES: up to how many rows, Σx² in the walk or a prologue), of the SwiGLU
// store, the attention merge's chunks a trip, the lane-group GEMVs' lane steps and walk, RoPE in
// the attention or its own kernel, the attention's key chunks, the GEMVs' reduction array and the
// tensor-core matmul's workgroup size (which of these run: STEP_CHOICE_SETS, bench-rollout --choices).
import type { GpuContext } from '../../gpu/device';
import { Recorder, type Capture } from '../../gpu/encoder';
import type { Engine } from '../../model/engine';
import { ATTENTION_DECODE_LAYOUT, type AttentionDecodeLayout } from '../../kernels/attention_decode';
import { generate, type GenerateRequest } from '../../model/generate';
import type { DecodeFusion } from '../../model/kernels';
import { createKvCache, destroyKvCache } from '../../model/kv-cache';
import type { ModelWeights } from '../../model/weights';
import type { LoraAdapter } from '../../lora/adapter';
import { GEMV_MAX_ROWS, ROWLANE_MIN_N } from '../../kernels/matmul';
import type { MmaChunk, MmaDecode, MmaRounds, MmaSubgroups } from '../../kernels/matmul_mma';
import { GpuTimer, median } from './gpu-timer';
import { heatGpu, timeKernel } from './timing';
import { decodeLayerProfile } from './decode-profile';
import { watchGc, type GcPauses } from './gc-watch';

/** A decode step's inputs at R rows, every row at the last of L positions: KV cache, token ids / slots / positions, logits. */
function decodeStepBuffers(ctx: GpuContext, engine: Engine, weights: ModelWeights, R: number, L: number) {
  const m = ctx.memory;
  const cache = createKvCache(ctx, weights.config, R, L);
  const io = { ids: m.upload('b.ids', new Int32Array(R)), slot: m.upload('b.slot', Int32Array.from({ length: R }, (_, i) => i)), pos: m.upload('b.pos', new Int32Array(R).fill(L - 1)), decode: true };
  const logits = m.create('b.logits', R * engine.V * 4);
  const destroy = () => {
    destroyKvCache(ctx, cache);
    for (const b of [io.ids, io.slot, io.pos, logits]) m.destroy(b);
  };
  return { cache, io, logits, destroy };
}

/** One decode step's forward + LM head as generate() captures it (with engine.k.decodeFusion as it is at the call). */
function captureStep(ctx: GpuContext, engine: Engine, R: number, bufs: ReturnType<typeof decodeStepBuffers>, lora: LoraAdapter | null): Capture {
  const cap = new Recorder(ctx, 'capture');
  cap.beginCapture();
  engine.encodeForward(cap, R, bufs.io, bufs.cache, lora);
  engine.encodeLogits(cap, bufs.logits, R);
  const c = cap.endCapture();
  cap.discard();
  return c;
}

/**
 * Decode step parts at R rows: all layers, LM head, sampling, and the three in one pass — each a
 * compute pass on the GPU clock (median of 5; wall-clock over repeats where the device has no
 * timestamps: that adds Dawn's CPU work at submit, ≈ 30 µs a dispatch in a pass of thousands).
 */
export async function breakdown(ctx: GpuContext, engine: Engine, weights: ModelWeights, R: number, L: number) {
  const m = ctx.memory;
  const bufs = decodeStepBuffers(ctx, engine, weights, R, L);
  const { cache, io, logits } = bufs;
  const st = {
    seq: m.upload('b.seq', new Uint32Array(R)), eos: m.upload('b.eos', Uint32Array.of(0xffffffff)), E: 1, tokens: m.create('b.tok', R * 4), done: m.upload('b.done', new Uint32Array(R)),
    history: m.create('b.h', R * 4 * 4), logps: m.create('b.l', R * 4 * 4), maxNew: 4, pos: m.create('b.p', R * 4), pad: 0,
  };
  const forward = (rec: Recorder) => engine.encodeForward(rec, R, io, cache, null);
  const lmHead = (rec: Recorder) => engine.encodeLogits(rec, logits, R);
  const sampling = (rec: Recorder) => engine.k.sample.encode(rec, logits, R, engine.V, 0, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 }, st);
  const step = (rec: Recorder) => { forward(rec); lmHead(rec); sampling(rec); };
  const timer = GpuTimer.create(ctx);
  const time = async (items: Array<(rec: Recorder) => void>) => {
    if (timer) return timer.median(items, 5);
    const ms: number[] = [];
    for (const f of items) ms.push((await timeKernel(ctx, f, { iters: 3 })).ms);
    return ms;
  };
  const [layersMs, lmHeadMs, sampleMs, stepKernelsMs] = await time([forward, lmHead, sampling, step]);
  // the layers with the GEMVs' loop-form bodies
  engine.k.matmul.gemvUnrolled = false;
  const [loopFormMs] = await time([forward]);
  engine.k.matmul.gemvUnrolled = true;
  timer?.destroy();
  // the step as the decode loop submits it — one submission per step, the forward replayed — but
  // with no read-back: what generate() would reach if map callbacks cost nothing
  const captured = captureStep(ctx, engine, R, bufs, null);
  const submitted = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const rec = new Recorder(ctx, 'step');
      rec.replay(captured);
      sampling(rec);
      rec.submit();
    }
    const t1 = performance.now();
    await ctx.device.queue.onSubmittedWorkDone();
    return { ms: (performance.now() - t0) / n, cpuMs: (t1 - t0) / n };
  };
  await submitted(3);
  await heatGpu(ctx);
  // CPU ms per step to replay and submit (≈ ms: the loop is CPU-bound; far below: the GPU is)
  const { ms: submittedMs, cpuMs: submittedCpuMs } = await submitted(20);
  bufs.destroy();
  for (const b of [st.seq, st.eos, st.tokens, st.done, st.history, st.logps, st.pos]) m.destroy(b);
  const layerProfile = await decodeLayerProfile(ctx, engine, weights, R, L);
  return { layersMs, loopFormMs, lmHeadMs, sampleMs, stepKernelsMs, stepSubmittedMs: submittedMs, stepSubmittedCpuMs: submittedCpuMs, dispatchesPerStep: countDispatches(ctx, engine, weights, R, L), layerProfile };
}

export interface StepGpuTime {
  dispatches: number;
  /** the step's forward + LM head replayed in one timed pass (median of 5) */
  stepMs: number;
  /** each dispatch alone in a timed pass, summed (median of 5 each) */
  totalMs: number;
  byKernel: Record<string, number>;
  /** the step's GPU time less the same step without that kernel's dispatches (median of 5) */
  marginalByKernel: Record<string, number>;
  /** the step's pass with each decode fusion setting (FUSIONS): dispatches and GPU ms (median of 5) */
  byFusion: Record<string, { dispatches: number; ms: number }>;
  /** the step's pass with each choice of the GEMVs' 4-weight step (STEP4_CHOICES): GPU ms (median of 5) */
  byStep4: Record<string, number>;
  /** the step's pass with each row-lane GEMV choice (ROWLANE_CHOICES: rows of x, rows of W): GPU ms (median of 5) */
  byRowLane: Record<string, number>;
  /** the step's pass with each fused-norm choice (NORM_CHOICES): dispatches and GPU ms (median of 5) */
  byNorm: Record<string, { dispatches: number; ms: number }>;
  /** the step's pass with the gate|up GEMV storing silu(gate)·up, or the SwiGLU kernel (MatmulKernel.swigluStore): dispatches and GPU ms */
  bySwiglu: Record<string, { dispatches: number; ms: number }>;
  /** the step's pass by chunks a trip of the attention merge's output loop (AttentionGqaKernel.combineUnroll): GPU ms */
  byMerge: Record<string, number>;
  /** the step's pass with RoPE + the KV write by rope_kv or in the attention (DecodeFusion.rope): dispatches and GPU ms */
  byRope: Record<string, { dispatches: number; ms: number }>;
  /** the step's pass by the decode attention's target workgroups (its key chunks): GPU ms */
  byChunks: Record<string, number>;
  /** the step's pass by lane steps a loop trip of the 8-weight GEMV bodies (MatmulKernel.gemvSteps): GPU ms */
  bySteps: Record<string, number>;
  /** the step's pass by the lane-group GEMVs' longest walk (MatmulKernel.gemvWalk: fewer steps, more lanes a row): GPU ms */
  byWalk: Record<string, number>;
  /** the step's pass by staged-GEMV choice (STAGED_CHOICES: rows of x, target workgroups, longest K, fewest rows of W): GPU ms */
  byStaged: Record<string, number>;
  /** the step's pass by f16 choice (F16_CHOICES: MatmulKernel.gemvX16Rows; shader-f16 only): GPU ms */
  byF16: Record<string, number>;
  /** the step's pass by subgroup-matrix choice (MMA_CHOICES: MatmulKernel.gemvMmaRows; devices with them only): GPU ms */
  byMma: Record<string, number>;
  /** the step's pass by the subgroup-matrix matmul's chunk and result rounds (MMA_CHUNK_CHOICES: MatmulKernel.mmaChunk1, mmaChunk2, mmaRounds1, mmaRounds2): GPU ms */
  byMmaChunk: Record<string, number>;
  /** the step's pass with the GEMVs' reduction array sized to its use or 8 KiB always (MatmulKernel.gemvRedSized): GPU ms */
  byRed: Record<string, number>;
  /** the step's pass by the subgroup-matrix matmul's subgroups a workgroup at one tile and at more (MatmulKernel.mmaSubgroups1, mmaSubgroups2): GPU ms */
  byMmaSubgroups: Record<string, number>;
  /** the step's pass with the attention split and merged or in one dispatch, by lane layout (ATTENTION_ONE_CHOICES: DecodeFusion.attentionOne, AttentionDecodeKernel.layout): GPU ms and dispatches */
  byAttentionOne: Record<string, { dispatches: number; ms: number }>;
}

/** The settings the breakdown times each choice of (STEP_CHOICE_SETS; bench-rollout --choices). */
export type StepChoiceSet = 'fusion' | 'step4' | 'rowlane' | 'norm' | 'swiglu' | 'merge' | 'steps' | 'walk' | 'rope' | 'chunks' | 'staged' | 'f16' | 'mma' | 'mmachunk' | 'red' | 'mmasgs' | 'attone';
export const STEP_CHOICE_SETS: readonly StepChoiceSet[] = ['fusion', 'step4', 'rowlane', 'norm', 'swiglu', 'merge', 'steps', 'walk', 'rope', 'chunks', 'staged', 'f16', 'mma', 'mmachunk', 'red', 'mmasgs', 'attone'];

export interface LoopGpuTime {
  tokensPerSecond: number;
  msPerStep: number;
  /** medians over the replayed steps: a step's pass (forward, LM head, sampling) on the GPU, and the GPU time from one step's pass to the next's */
  busyMs: number;
  gapMs: number;
  /** Σ passes / (end of the last − start of the first) */
  busyFraction: number;
  /** the gaps: all of them summed, their 90th percentile and the largest, ms (is the idle a little every step, or a few stalls?) */
  gapSumMs: number;
  gapP90Ms: number;
  gapMaxMs: number;
  /** the decode steps after the three largest gaps, largest first (step 2 is the first timed): where a stall falls */
  gapWorstSteps: number[];
  /** the collector's pauses in the rerun */
  gc: GcPauses;
}

/** A rollout as bench-rollout's, each replayed decode step's pass GPU-timestamped: is the GPU busy in the loop? null without timestamp-query. */
export async function loopGpuTime(ctx: GpuContext, engine: Engine, req: GenerateRequest): Promise<LoopGpuTime | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer || req.maxNewTokens < 4) return null;
  const G = req.G;
  try {
    await heatGpu(ctx);
    const stopGc = watchGc();
    const r = await generate(engine, { ...req, timeStep: timer.stepHook });
    const gc = await stopGc();
    const { busyMs, gapMs } = await timer.loopSteps(2, r.steps);
    const busy = busyMs.reduce((a, b) => a + b, 0);
    const span = busy + gapMs.reduce((a, b) => a + b, 0);
    const sorted = [...gapMs].sort((a, b) => a - b);
    return {
      tokensPerSecond: (G * r.steps) / r.decodeSeconds, msPerStep: (1000 * r.decodeSeconds) / r.steps, busyMs: median(busyMs), gapMs: median(gapMs), busyFraction: busy / span,
      gapSumMs: span - busy, gapP90Ms: sorted[Math.floor(0.9 * (sorted.length - 1))] ?? 0, gapMaxMs: sorted[sorted.length - 1] ?? 0,
      gapWorstSteps: worstGapSteps(gapMs, 3, 2), gc,
    };
  } finally {
    timer.destroy();
  }
}

/** The steps after the `n` largest of `gaps` (gaps[i]: the time before step first + 1 + i), largest first. */
export function worstGapSteps(gaps: number[], n: number, first: number): number[] {
  return gaps.map((g, i) => [g, first + 1 + i]).sort((a, b) => b[0] - a[0]).slice(0, n).map(([, step]) => step);
}

/** Each dispatch of one decode step's forward + LM head (as generate() captures it) timed on the GPU; null without timestamp-query. */
export async function stepGpuTime(ctx: GpuContext, engine: Engine, weights: ModelWeights, R: number, L: number, lora: LoraAdapter | null, sets: readonly StepChoiceSet[] = STEP_CHOICE_SETS): Promise<StepGpuTime | null> {
  const timer = GpuTimer.create(ctx);
  if (!timer) return null;
  const bufs = decodeStepBuffers(ctx, engine, weights, R, L);
  try {
    const captured = captureStep(ctx, engine, R, bufs, lora);
    await timer.timeCapture(captured); // warm-up
    const runs: Array<Array<{ label: string; ms: number }>> = [];
    for (let i = 0; i < 5; i++) runs.push(await timer.timeCapture(captured));
    const byKernel: Record<string, number> = {};
    let totalMs = 0;
    runs[0].forEach((d, i) => {
      const t = median(runs.map((r) => r[i].ms));
      totalMs += t;
      byKernel[d.label] = (byKernel[d.label] ?? 0) + t;
    });
    // a capture replayed in one timed pass (keep: the dispatches left in), median of 5
    const whole = async (c: Capture, keep?: (i: number) => boolean) => {
      const ts: number[] = [];
      for (let i = 0; i < 5; i++) ts.push(await timer.timeReplay(c, keep));
      return median(ts);
    };
    await whole(captured);
    const stepMs = await whole(captured);
    const marginalByKernel: Record<string, number> = {};
    const labels = runs[0].map((d) => d.label);
    for (const label of Object.keys(byKernel)) marginalByKernel[label] = stepMs - (await whole(captured, (i) => labels[i] !== label));
    // the step captured again under the engine's settings as they are now, replayed the same way
    const recaptured = async () => {
      const c = captureStep(ctx, engine, R, bufs, lora);
      await timer.timeReplay(c); // warm-up
      return { dispatches: c.dispatches, ms: await whole(c) };
    };
    // the step recaptured under each choice of a setting, then under the engine's own (restored after)
    const byChoice = async <T>(choices: Array<[string, T]>, get: () => T, set: (v: T) => void, which: StepChoiceSet) => {
      const saved = get();
      const out: Record<string, { dispatches: number; ms: number }> = {};
      if (!sets.includes(which)) return out;
      try {
        for (const [name, v] of [...choices, ['engine', saved] as [string, T]]) {
          set(v);
          out[name] = await recaptured();
        }
      } finally {
        set(saved);
      }
      return out;
    };
    const msOf = (r: Record<string, { ms: number }>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.ms]));
    const mm = engine.k.matmul;
    // the decode fusions (EngineKernels.decodeFusion)
    const byFusion = await byChoice(FUSIONS, () => ({ ...engine.k.decodeFusion }), (f) => { engine.k.decodeFusion = f; }, 'fusion');
    // the 4-weight GEMV step from how many rows (all rows, and rows of ≤ GEMV_SHORT_K weights)
    const byStep4 = msOf(await byChoice(STEP4_CHOICES.map(([name, ...v]) => [name, v]), () => [mm.gemvStep4Rows, mm.gemvStep4RowsShortK], ([a, b]) => { [mm.gemvStep4Rows, mm.gemvStep4RowsShortK] = [a, b]; }, 'step4'));
    // the row-lane GEMV (q4 weights): from and to how many rows of x, from how many rows of W
    const byRowLane = msOf(await byChoice(ROWLANE_CHOICES.map(([name, ...v]) => [name, v]), () => [mm.gemvRowLaneRows, mm.gemvRowLaneMaxRows, mm.gemvRowLaneMinN], ([a, b, c]) => { [mm.gemvRowLaneRows, mm.gemvRowLaneMaxRows, mm.gemvRowLaneMinN] = [a, b, c]; }, 'rowlane'));
    // the fused norm: up to how many rows of x, Σx² in the lane groups' walk or the workgroup's prologue from how many rows
    const byNorm = await byChoice(NORM_CHOICES.map(([name, ...v]) => [name, v]), () => [engine.k.decodeFusion.norm, engine.k.decodeFusion.normMlp ?? engine.k.decodeFusion.norm, mm.gemvNormPrologueRows], ([a, b, c]) => { engine.k.decodeFusion = { ...engine.k.decodeFusion, norm: a, normMlp: b }; mm.gemvNormPrologueRows = c; }, 'norm');
    // the SwiGLU stored by the row-lane gate|up GEMV (where it runs) or computed by its own kernel
    const bySwiglu = await byChoice<[boolean, number]>([['gate|up stores h', [true, GEMV_MAX_ROWS]], ['gate|up stores h up to 32 rows', [true, 32]], ['SwiGLU kernel', [false, GEMV_MAX_ROWS]]], () => [mm.swigluStore, mm.swigluStoreMaxRows] as [boolean, number], ([v, r]) => { [mm.swigluStore, mm.swigluStoreMaxRows] = [v, r]; }, 'swiglu');
    // the attention merge's chunks a trip
    const att = engine.k.attentionGqa;
    const byMerge = msOf(await byChoice([['1', 1], ['4', 4], ['8', 8], ['16', 16]], () => att.combineUnroll, (v) => { att.combineUnroll = v; }, 'merge'));
    // the 8-weight GEMV bodies' lane steps a loop trip (their weight loads issued together)
    const bySteps = msOf(await byChoice([['1', 1], ['2', 2], ['4', 4]], () => mm.gemvSteps, (v) => { mm.gemvSteps = v; }, 'steps'));
    // the lane-group GEMVs' longest walk along a row (so their lanes a row)
    const byWalk = msOf(await byChoice([['4', 4], ['8', 8], ['16', 16], ['32', 32]], () => mm.gemvWalk, (v) => { mm.gemvWalk = v; }, 'walk'));
    // RoPE and the KV write by their own kernel, or in the attention (DecodeFusion.rope)
    const byRope = await byChoice([['rope_kv kernel', false], ['in the attention', true]], () => engine.k.decodeFusion.rope, (v) => { engine.k.decodeFusion = { ...engine.k.decodeFusion, rope: v }; }, 'rope');
    // the decode attention's key chunks: workgroups of the partial dispatch to aim for (TARGET_WORKGROUPS.gpu; null: the engine's)
    const byChunks = msOf(await byChoice<number | null>([['24', 24], ['48', 48], ['96', 96], ['192', 192], ['256', 256], ['384', 384], ['512', 512]], () => att.targetOverride, (v) => { att.targetOverride = v; }, 'chunks'));
    // the staged GEMV (x in workgroup memory): up to how many rows of x, its target workgroups, the longest rows it takes
    const byStaged = msOf(await byChoice(STAGED_CHOICES.map(([name, ...v]) => [name, v]), () => [mm.gemvStagedRows, mm.gemvStagedWorkgroups, mm.gemvStagedMaxK, mm.gemvStagedMinN], ([a, b, c, d]) => { [mm.gemvStagedRows, mm.gemvStagedWorkgroups, mm.gemvStagedMaxK, mm.gemvStagedMinN] = [a, b, c, d]; }, 'staged'));
    // gate|up reading an f16 xn from how many rows of x (shader-f16 only; without it every choice is the f32 kernels')
    const byF16 = msOf(await byChoice(F16_CHOICES, () => mm.gemvX16Rows, (v) => { mm.gemvX16Rows = v; }, 'f16'));
    // the decode matmuls on subgroup matrices from how many rows of x, q|k|v's norm in them, the LM head too (devices with them only; without, every choice is the GEMVs')
    const byMma = msOf(await byChoice(MMA_CHOICES.map(([name, ...v]) => [name, v]), () => [mm.gemvMmaRows, mm.mmaDecode, mm.mmaNormWorkgroups, mm.mmaBf16, mm.mmaTileSums, mm.mmaLora, mm.mmaPrefetch1] as [number, MmaDecode, number, boolean, boolean, boolean, 1 | 2], ([r, d, f, b, t, l, pf]) => { [mm.gemvMmaRows, mm.mmaDecode, mm.mmaNormWorkgroups, mm.mmaBf16, mm.mmaTileSums, mm.mmaLora, mm.mmaPrefetch1] = [r, d, f, b, t, l, pf]; }, 'mma'));
    // the subgroup-matrix matmul's weights a chunk at one tile a workgroup and at more, and how its partial results are added
    const byMmaChunk = msOf(await byChoice(MMA_CHUNK_CHOICES.map(([name, ...v]) => [name, v]), () => [mm.mmaChunk1, mm.mmaChunk2, mm.mmaRounds1, mm.mmaRounds2] as [MmaChunk, MmaChunk, MmaRounds, MmaRounds], ([a, b, c, d]) => { [mm.mmaChunk1, mm.mmaChunk2, mm.mmaRounds1, mm.mmaRounds2] = [a, b, c, d]; }, 'mmachunk'));
    // the GEMVs' reduction array: 8 KiB of workgroup memory always, or only what the kernel uses
    const byRed = msOf(await byChoice([['red 8 KiB always', false], ['red sized', true]], () => mm.gemvRedSized, (v) => { mm.gemvRedSized = v; }, 'red'));
    // the subgroup-matrix matmul in 256- or 128-thread workgroups, at one tile a workgroup (q|k|v, o, down) and at more (gate|up, the LM head)
    const sgsChoices: Array<[string, [MmaSubgroups, MmaSubgroups]]> = [['256 threads', [8, 8]], ['128 at 1 tile', [4, 8]], ['128 at 2+ tiles', [8, 4]], ['128 threads', [4, 4]]];
    const byMmaSubgroups = msOf(await byChoice(sgsChoices, () => [mm.mmaSubgroups1, mm.mmaSubgroups2] as [MmaSubgroups, MmaSubgroups], ([a, b]) => { [mm.mmaSubgroups1, mm.mmaSubgroups2] = [a, b]; }, 'mmasgs'));
    // the attention split into key chunks and merged (two dispatches), or in one (RoPE and the cache write inside) by lane layout
    const dec = engine.k.attentionDecode;
    const byAttentionOne = await byChoice(ATTENTION_ONE_CHOICES.map(([name, rows, layout]): [string, [number, AttentionDecodeLayout]] => [name, [rows, layout]]), () => [engine.k.decodeFusion.attentionOne ?? 0, dec.layout] as [number, AttentionDecodeLayout], ([rows, layout]) => { engine.k.decodeFusion = { ...engine.k.decodeFusion, attentionOne: rows }; dec.layout = layout; }, 'attone');
    return { dispatches: captured.dispatches, stepMs, totalMs, byKernel, marginalByKernel, byFusion, byStep4, byRowLane, byNorm, bySwiglu, byMerge, bySteps, byWalk, byRope, byChunks, byStaged, byF16, byMma, byMmaChunk, byRed, byMmaSubgroups, byAttentionOne };
  } finally {
    timer.destroy();
    bufs.destroy();
  }
}

/**
 * attention choices the breakdown times: [name, the most rows for the one-dispatch attention
 * (DecodeFusion.attentionOne; 0: split and merged), its lane layout (lanes a key, keys a slot a trip,
 * threads)]. (Dropped after the twenty-ninth session's H100 runs: several query heads a workgroup
 * sharing each key's loads, 2.21–3.25 ms at G = 1 against 1.62; workgroups beside it reading gate|up's
 * weights into L2, 1.65–1.68.)
 */
export const ATTENTION_ONE_CHOICES: Array<[string, number, AttentionDecodeLayout]> = [
  ['split, merged', 0, ATTENTION_DECODE_LAYOUT],
  ['one dispatch, 8 lanes a key, 2 keys a trip', Infinity, { lanes: 8, keys: 2, threads: 256 }],
  ['4 lanes, 2 keys', Infinity, { lanes: 4, keys: 2, threads: 256 }],
  ['8 lanes, 1 key', Infinity, { lanes: 8, keys: 1, threads: 256 }],
  ['8 lanes, 2 keys, 128 threads', Infinity, { lanes: 8, keys: 2, threads: 128 }],
  ['16 lanes, 2 keys', Infinity, { lanes: 16, keys: 2, threads: 256 }],
];

/** row-lane GEMV choices the breakdown times: [name, from and to rows of x (gemvRowLaneRows, gemvRowLaneMaxRows), fewest rows of W (gemvRowLaneMinN)] */
export const ROWLANE_CHOICES: Array<[string, number, number, number]> = [['never', Infinity, Infinity, ROWLANE_MIN_N], ['4–8', 4, 8, ROWLANE_MIN_N], ['4–16', 4, 16, ROWLANE_MIN_N], ['4–8, N ≥ 2048', 4, 8, 2048], ['4–8, every N', 4, 8, 0]];

/** staged-GEMV choices the breakdown times: [name, most rows of x (MatmulKernel.gemvStagedRows; 0: never), target workgroups (gemvStagedWorkgroups), longest rows (gemvStagedMaxK), fewest rows of W (gemvStagedMinN)] */
export const STAGED_CHOICES: Array<[string, number, number, number, number]> = [
  ['never', 0, 128, Infinity, 0], ['1 row, 128 workgroups', 1, 128, Infinity, 0], ['1 row, 512', 1, 512, Infinity, 0], ['1 row, 128, K ≤ 2048', 1, 128, 2048, 0],
  ['1 row, 128, N ≥ 8192', 1, 128, Infinity, 8192], ['1 row, 256, N ≥ 8192', 1, 256, Infinity, 8192], ['1 row, 512, N ≥ 8192', 1, 512, Infinity, 8192], ['1 row, 1024, N ≥ 8192', 1, 1024, Infinity, 8192], ['1 row, 512, N ≥ 2048', 1, 512, Infinity, 2048],
  ['≤ 4 rows, 128', 4, 128, Infinity, 0],
];

/** f16 choices the breakdown times: [name, from how many rows of x gate|up reads an f16 xn from its norm kernel (MatmulKernel.gemvX16Rows)] */
export const F16_CHOICES: Array<[string, number]> = [['f32', Infinity], ['gate|up reads f16 xn from 9 rows', 9]];

/** subgroup-matrix choices the breakdown times: [name, from how many rows of x the q4 matmuls run on subgroup matrices (MatmulKernel.gemvMmaRows), their decode of W (mmaDecode), the norms fused into those of at most so many workgroups (mmaNormWorkgroups), the bf16 LM head on them too (mmaBf16), Σx² passed as tile sums (mmaTileSums), the LoRA term on the matrix units (mmaLora), trips loaded ahead at one tile a workgroup (mmaPrefetch1)] */
export const MMA_CHOICES: Array<[string, number, MmaDecode, number, boolean, boolean, boolean, 1 | 2]> = [
  ['GEMVs', Infinity, 1, 256, true, false, false, 1], ['subgroup matrices from 9 rows, norm kernels, q4 only', 9, 1, 0, false, false, false, 1], ['norm fused into q|k|v, q4 only', 9, 1, 256, false, false, false, 1],
  ['norm fused into q|k|v, the bf16 LM head too', 9, 1, 256, true, false, false, 1], ['both norms fused, Σx² as tile sums', 9, 1, 256, true, true, false, 1],
  ['tile sums, LoRA term on the matrix units', 9, 1, 256, true, true, true, 1], ['tile sums, LoRA on the matrix units, 2 trips ahead at one tile', 9, 1, 256, true, true, true, 2],
  ['tile sums, the decode word by word', 9, 2, 256, true, true, false, 1],
  ['tile sums, LoRA on the matrix units, word by word', 9, 2, 256, true, true, true, 1], ['tile sums, LoRA on the matrix units, codes from the codebook buffer', 9, 3, 256, true, true, true, 1],
  ['tile sums, LoRA on the matrix units, the code-byte table', 9, 0, 256, true, true, true, 1],
];

/** subgroup-matrix layout choices the breakdown times: [name, weights a chunk at one tile a workgroup (MatmulKernel.mmaChunk1), at more (mmaChunk2), partial results added all at once, a K-phase or a subgroup a round at one tile (mmaRounds1) and at more (mmaRounds2)] */
export const MMA_CHUNK_CHOICES: Array<[string, MmaChunk, MmaChunk, MmaRounds, MmaRounds]> = [
  ['64-weight chunks', 64, 64, 0, 0], ['32 at 2+ tiles, results a K-phase a round', 64, 32, 0, 1], ['32 at 2+ tiles, results a subgroup a round', 64, 32, 0, 2],
  ['32 at 2+ tiles, results a subgroup a round there and at 1 tile', 64, 32, 2, 2], ['32 everywhere, results a subgroup a round at 2+ tiles', 32, 32, 0, 2],
];

/** fused-norm choices the breakdown times: [name, most rows of x fused into q|k|v (DecodeFusion.norm) and into gate|up (normMlp), from how many rows Σx² comes from the prologue (MatmulKernel.gemvNormPrologueRows)] */
export const NORM_CHOICES: Array<[string, number, number, number]> = [
  ['≤ 8, Σx² in the walk', 8, 8, Infinity], ['≤ 8, prologue', 8, 8, 1], ['≤ 16, Σx² in the walk', 16, 16, Infinity], ['≤ 16, prologue', 16, 16, 1],
  ['q|k|v ≤ 16, gate|up ≤ 8, Σx² in the walk', 16, 8, Infinity], ['q|k|v ≤ 16, gate|up ≤ 8, prologue from 4', 16, 8, 4],
];

/** 4-weight GEMV step choices the breakdown times: [name, from rows (any K), from rows (K ≤ GEMV_SHORT_K)] */
export const STEP4_CHOICES: Array<[string, number, number]> = [['never', Infinity, Infinity], ['9+', 9, 9], ['9+, short K 5+', 9, 5], ['5+', 5, 5], ['short K 2+', Infinity, 2]];

/** The decode fusion settings bench-rollout compares (and --fusion names). */
export const FUSIONS: Array<[string, DecodeFusion]> = [['none', { norm: 0, swiglu: 0, rope: false }], ['norm', { norm: Infinity, swiglu: 0, rope: false }], ['swiglu', { norm: 0, swiglu: Infinity, rope: false }], ['both', { norm: Infinity, swiglu: Infinity, rope: false }], ['rope', { norm: 0, swiglu: 0, rope: true }], ['all', { norm: Infinity, swiglu: Infinity, rope: true }]];

export function countDispatches(ctx: GpuContext, engine: Engine, weights: ModelWeights, R: number, L: number): number {
  const cache = createKvCache(ctx, weights.config, R, L);
  const rec = new Recorder(ctx, 'count');
  const b = ctx.memory.create('c', R * 4);
  engine.encodeForward(rec, R, { ids: b, slot: b, pos: b, decode: true }, cache, null);
  const n = rec.dispatches;
  destroyKvCache(ctx, cache);
  ctx.memory.destroy(b);
  return n + 3; // + LM head + sampling (plain: chunk partials, then a combine per row)
}
