// `tabzero bench-rollout` and `tabzero bench-step`: the 1.5B-shape 4-bit model (random weights,
// built on the GPU) timed where GRPO spends its time. Rollout: group sampling at G = 1, 8, 16
// (prompt 128, completion 256, no EOS so every row runs to the end), tokens/s, ms per decode step
// and a breakdown (layers, LM head, sampling, a step's kernels back to back, and each kernel of one
// layer; decode-timing.ts). Step: one full GRPO step (G = 8, prompt 128, completion 256, r = 16,
// all 7 targets, β > 0) by phase, with peak GPU bytes. JSON out.
import { mmaSupport } from '../../kernels/matmul_mma';
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { acquireDevice } from '../../gpu/device';
import { nodeGpu, paceDawnPolls } from '../../gpu/node';
import { formatGc, watchGc } from './gc-watch';
import { BENCH_GPU_FLAGS } from './gpu-timer';
import { parseQwen2Config, type Qwen2Config } from '../../model/config';
import { buildRandomModel } from '../../model/random';
import { Engine } from '../../model/engine';
import { engineKernels } from '../../model/kernels';
import { GEMV_SHORT_K } from '../../kernels/matmul';
import { generate, type GenerateRequest } from '../../model/generate';
import { makeConfig } from '../../grpo/config';
import { TrainingSession } from '../../grpo/session';
import { heatGpu } from './timing';
import { profileTraining, profileSession } from './profile';
import { breakdown, countDispatches, FUSIONS, loopGpuTime, STEP_CHOICE_SETS, stepGpuTime, type LoopGpuTime, type StepChoiceSet, type StepGpuTime } from './decode-timing';
import { createLora, destroyLora, type LoraAdapter } from '../../lora/adapter';
import { LORA_TARGETS } from '../../lora/targets';
import { loraBase } from '../../grpo/session';

const TINY = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_act: 'silu', hidden_size: 64, intermediate_size: 160, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 1024, max_position_embeddings: 4096, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true };

async function setup(argv: string[]) {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({ args: argv, options: { json: str, config: str, quick: { type: 'boolean' }, g: str, completion: str, prompt: str, steps: str, micro: str, profile: { type: 'boolean' }, full: { type: 'boolean' }, 'no-breakdown': { type: 'boolean' }, 'in-flight': str, fusion: str, 'gemv-step4-rows': str, 'gemv-rowlane-rows': str, 'gemv-x16-rows': str, 'gemv-mma-rows': str, 'tile-sums': str, 'mma-lora': str, 'mma-prefetch': str, norm: str, choices: str, 'swiglu-store': str, 'lora-fold': str, 'dense-row-grid': str, 'rollout-reuse': str, 'split-k': str, 'save-fused': str, 'dkv-keys': str, 'dkv-split': str, 'poll-interval-ms': str, 'attention-one': str } });
  const ctx = await acquireDevice(await nodeGpu(BENCH_GPU_FLAGS));
  if (values['poll-interval-ms'] !== undefined) { // --poll-interval-ms T: Dawn's polls at most one every T ms (0: Dawn's own pace, an event-loop turn; default node.ts dawnPollIntervalMs)
    const t = Number(values['poll-interval-ms']);
    if (!(t >= 0)) throw new Error(`--poll-interval-ms ${values['poll-interval-ms']}: expected a number of ms ≥ 0`);
    paceDawnPolls(t);
  }
  const k = await engineKernels(ctx); // the kernels every engine of this run shares: the flags below set them
  /** an on|off flag's value; undefined when not given */
  const onOff = (name: 'lora-fold' | 'dense-row-grid' | 'rollout-reuse' | 'save-fused' | 'swiglu-store' | 'tile-sums' | 'mma-lora'): boolean | undefined => {
    const v = values[name];
    if (v !== undefined && v !== 'on' && v !== 'off') throw new Error(`--${name} ${v}: expected on or off`);
    return v === undefined ? undefined : v === 'on';
  };
  if (values.fusion !== undefined) { // --fusion none|norm|swiglu|both|rope|all: the decode fusions (FUSIONS)
    const f = FUSIONS.find(([name]) => name === values.fusion);
    if (!f) throw new Error(`--fusion ${values.fusion}: expected one of ${FUSIONS.map(([n]) => n).join(', ')}`);
    k.decodeFusion = { ...f[1] };
  }
  if (values['attention-one'] !== undefined) { // --attention-one N[,LK,KU,WG]: a decode step of up to N rows runs its attention in one dispatch (0: never), with LK lanes a key, KU keys a trip, WG threads
    const d = k.attentionDecode;
    const [n, lanes = d.layout.lanes, keys = d.layout.keys, threads = d.layout.threads] = values['attention-one'].split(',').map(Number);
    if (!(n >= 0) || ![1, 2, 4, 8, 16, 32].includes(lanes) || (keys !== 1 && keys !== 2) || !(threads % 32 === 0 && threads >= 32 && threads <= 256)) throw new Error(`--attention-one ${values['attention-one']}: expected N[,LK,KU,WG]: rows ≥ 0 or Infinity, lanes a key 1…32 (a power of 2), 1 or 2 keys a trip, 32…256 threads (a multiple of 32)`);
    k.decodeFusion = { ...k.decodeFusion, attentionOne: n };
    d.layout = { lanes, keys, threads };
  }
  if (values['gemv-step4-rows'] !== undefined) { // --gemv-step4-rows N[,S]: GEMVs of ≥ N rows take 4 weights a lane step, ≥ S rows (default N) where K ≤ GEMV_SHORT_K (Infinity: never)
    const [n, sk = n] = values['gemv-step4-rows'].split(',').map(Number);
    if (!(n >= 1 && sk >= 1)) throw new Error(`--gemv-step4-rows ${values['gemv-step4-rows']}: expected N or N,S with numbers ≥ 1 or Infinity`);
    [k.matmul.gemvStep4Rows, k.matmul.gemvStep4RowsShortK] = [n, sk];
  }
  if (values['gemv-x16-rows'] !== undefined) { // --gemv-x16-rows N: from N rows of x the decode gate|up GEMV reads an f16 xn (shader-f16 only; Infinity: never)
    const n = Number(values['gemv-x16-rows']);
    if (!(n >= 1)) throw new Error(`--gemv-x16-rows ${values['gemv-x16-rows']}: expected a number ≥ 1 or Infinity`);
    k.matmul.gemvX16Rows = n;
  }
  if (values['gemv-mma-rows'] !== undefined) { // --gemv-mma-rows N: from N rows of x the decode q4 and bf16 matmuls run on subgroup matrices (devices with them only; Infinity: never)
    const n = Number(values['gemv-mma-rows']);
    if (!(n >= 1)) throw new Error(`--gemv-mma-rows ${values['gemv-mma-rows']}: expected a number ≥ 1 or Infinity`);
    k.matmul.gemvMmaRows = n;
  }
  k.matmul.mmaTileSums = onOff('tile-sums') ?? k.matmul.mmaTileSums; // decode on subgroup matrices: Σx² passed as tile sums, both norms fused (on, the default) or not
  k.matmul.mmaLora = onOff('mma-lora') ?? k.matmul.mmaLora; // the subgroup-matrix matmul's LoRA term on the matrix units (on, the default) or in its epilogue (off)
  if (values['mma-prefetch'] !== undefined) { // --mma-prefetch 1|2: trips of W and x the one-tile subgroup-matrix matmuls load ahead (default 1)
    const n = Number(values['mma-prefetch']);
    if (n !== 1 && n !== 2) throw new Error(`--mma-prefetch ${values['mma-prefetch']}: expected 1 or 2`);
    k.matmul.mmaPrefetch1 = n;
  }
  if (values['gemv-rowlane-rows'] !== undefined) { // --gemv-rowlane-rows N[,M]: q4 GEMVs of N to M rows of x (default: the kernel's most) take the row-lane body (Infinity: never)
    const [n, mx = k.matmul.gemvRowLaneMaxRows] = values['gemv-rowlane-rows'].split(',').map(Number);
    if (!(n >= 1 && mx >= 1)) throw new Error(`--gemv-rowlane-rows ${values['gemv-rowlane-rows']}: expected N or N,M with numbers ≥ 1 or Infinity`);
    [k.matmul.gemvRowLaneRows, k.matmul.gemvRowLaneMaxRows] = [n, mx];
  }
  if (values.norm !== undefined) { // --norm N[,P[,M]]: the RMSNorm fused into the decode GEMVs up to N rows of x (gate|up's up to M, default N), Σx² by the workgroup's prologue from P rows (Infinity: never)
    const [n, pr = k.matmul.gemvNormPrologueRows, mlp = n] = values.norm.split(',').map(Number);
    if (!(n >= 0 && pr >= 1 && mlp >= 0)) throw new Error(`--norm ${values.norm}: expected N, N,P or N,P,M with N, M ≥ 0 and P ≥ 1 (or Infinity)`);
    k.decodeFusion = { ...k.decodeFusion, norm: n, normMlp: mlp };
    k.matmul.gemvNormPrologueRows = pr;
  }
  k.matmul.swigluStore = onOff('swiglu-store') ?? k.matmul.swigluStore; // the decode gate|up GEMV stores silu(gate)·up (on, the default) or the SwiGLU kernel runs (off)
  k.matmul.loraFold = onOff('lora-fold') ?? k.matmul.loraFold; // the LoRA term summed in the GEMV lanes (on, the default) or in the store epilogue
  k.matmul.denseRowGrid = onOff('dense-row-grid') ?? k.matmul.denseRowGrid; // the LoRA u GEMVs: a workgroup row per row of x (on) or all rows in each workgroup (off); default on
  if (values['split-k'] !== undefined) { // --split-k on|off|N: training's small-grid tiled matmuls split over K (N: into about N workgroups; default MatmulKernel.splitWorkgroups)
    const v = values['split-k'];
    const n = v === 'on' ? k.matmul.splitWorkgroups : v === 'off' ? 0 : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--split-k ${v}: expected on, off or a workgroup count`);
    k.matmul.splitWorkgroups = n;
  }
  const quick = Boolean(values.quick) || (ctx.adapter.isFallback && !values.full); // --full: the 1.5B shape even on SwiftShader
  const config: Qwen2Config = parseQwen2Config(quick ? TINY : JSON.parse(readFileSync(String(values.config ?? 'test/fixtures/qwen2.5-1.5b-instruct.config.json'), 'utf8')));
  const t0 = performance.now();
  const weights = await buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 1 });
  console.log(`adapter ${ctx.adapter.description || ctx.adapter.vendor}; model ${config.numLayers} layers × ${config.hiddenSize} (vocab ${config.vocabSize}) built in ${((performance.now() - t0) / 1000).toFixed(2)} s, ${(weights.bytes / 2 ** 30).toFixed(2)} GiB${quick ? ' (quick: tiny shape)' : ''}`);
  return { values, ctx, config, weights, quick, onOff };
}

function randomPrompt(n: number, V: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % Math.min(V, 150000));
}

/** bench-rollout's rollout: G completions of C tokens (no EOS: every row runs to the end), temperature 1 */
function rolloutRequest(prompts: number[][], G: number, C: number, inFlight: number | undefined, lora: LoraAdapter | null): GenerateRequest {
  return { prompts, G, maxNewTokens: C, eosIds: [], inFlight, lora, sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 2 } };
}

export async function runBenchRollout(argv: string[]): Promise<number> {
  const { values, ctx, config, weights, quick } = await setup(argv);
  const Gs = String(values.g ?? (quick ? '1,4' : '1,8,16')).split(',').map(Number);
  const Cs = String(values.completion ?? (quick ? '16' : '256')).split(',').map(Number);
  const P = Number(values.prompt ?? (quick ? 16 : 128));
  const inFlight = values['in-flight'] ? Number(values['in-flight']) : undefined;
  // --choices a,b: which settings the breakdown times each choice of (default all: STEP_CHOICE_SETS)
  const sets = values.choices === undefined ? STEP_CHOICE_SETS : values.choices === '' ? [] : values.choices.split(',');
  for (const c of sets) if (!(STEP_CHOICE_SETS as readonly string[]).includes(c)) throw new Error(`--choices ${values.choices}: expected a comma list of ${STEP_CHOICE_SETS.join(', ')}`);
  const rows = [];
  for (const C of Cs) {
    for (const G of Gs) {
      const engine = await Engine.create(ctx, weights, { maxTokens: Math.max(G, P), maxPositions: P + C, maxRank: 16 });
      ctx.memory.resetPeak();
      const prompts = [randomPrompt(P, config.vocabSize, 7)];
      // what a GRPO rollout runs: the policy's LoRA (r = 16) on all seven projections
      const lora = createLora(ctx, loraBase(weights), { r: 16, alpha: 16, targets: [...LORA_TARGETS], seed: 1 });
      // warm-up, with and without the adapter: every pipeline compiled before the clock starts (the
      // LoRA kernels compiling inside the timed LoRA rollout made it 15–40% slow, varying run to run)
      for (const l of [null, lora]) await generate(engine, { prompts, G, maxNewTokens: Math.min(8, C), eosIds: [], lora: l, sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 } });
      await heatGpu(ctx); // clocks up at the start (a G = 1 decode, CPU-bound, may still let them fall: as for a user)
      let stopGc = watchGc();
      const r = await generate(engine, rolloutRequest(prompts, G, C, inFlight, null));
      const gc = await stopGc();
      await heatGpu(ctx);
      stopGc = watchGc();
      const rl = await generate(engine, rolloutRequest(prompts, G, C, inFlight, lora));
      const gcLora = await stopGc();
      const peakGpuBytes = ctx.memory.peak; // the rollouts' (the breakdown below allocates its own buffers)
      // --no-breakdown: skip the per-part timings (20 repeats each: hours at the 1.5B shape on SwiftShader)
      const parts = values['no-breakdown'] ? { layersMs: NaN, lmHeadMs: NaN, sampleMs: NaN, stepKernelsMs: NaN, dispatchesPerStep: countDispatches(ctx, engine, weights, G, P + C) } : await breakdown(ctx, engine, weights, G, P + C);
      let stepGpu: Record<string, StepGpuTime | null> | undefined;
      let loopGpu: Record<string, LoopGpuTime | null> | undefined;
      if (!values['no-breakdown']) {
        loopGpu = { plain: await loopGpuTime(ctx, engine, rolloutRequest(prompts, G, C, inFlight, null)), lora: await loopGpuTime(ctx, engine, rolloutRequest(prompts, G, C, inFlight, lora)) };
        for (const [k, v] of Object.entries(loopGpu)) {
          if (v) console.log(`  G=${G} ${k}, in the decode loop (timed rerun, ${v.tokensPerSecond.toFixed(0)} tok/s): ${v.msPerStep.toFixed(2)} ms/step; on the GPU a step's pass takes ${v.busyMs.toFixed(3)} ms, then ${v.gapMs.toFixed(3)} ms until the next step's pass (medians; busy ${(100 * v.busyFraction).toFixed(0)}% of steps 2…${C - 1}; gaps ${v.gapSumMs.toFixed(1)} ms in all, 90th percentile ${v.gapP90Ms.toFixed(3)}, largest ${v.gapMaxMs.toFixed(3)}, before steps ${v.gapWorstSteps.join(', ')}; ${formatGc(v.gc)})`);
        }
        const only = sets as StepChoiceSet[];
        stepGpu = { plain: await stepGpuTime(ctx, engine, weights, G, P + C, null, only), lora: await stepGpuTime(ctx, engine, weights, G, P + C, lora, only) };
        const list = (r: Record<string, number>) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([l, t]) => `${l} ${t.toFixed(3)}`).join(', ');
        for (const [k, v] of Object.entries(stepGpu)) {
          if (!v) continue;
          console.log(`  G=${G} ${k}: ${v.dispatches} dispatches in one pass ${v.stepMs.toFixed(3)} ms on the GPU; without each kernel, less: ${list(v.marginalByKernel)}`);
          console.log(`  G=${G} ${k}: each dispatch in a pass of its own, summed: ${v.totalMs.toFixed(3)} ms (${list(v.byKernel)})`);
          // each choice set timed: [set, what it varies, its results]
          const timed: Array<[StepChoiceSet, string, Record<string, number | { ms: number; dispatches: number }>]> = [
            ['fusion', 'decode fusion', v.byFusion],
            ['step4', `4-weight GEMV step (from rows; short K ≤ ${GEMV_SHORT_K})`, v.byStep4],
            ['rowlane', 'row-lane GEMV (from rows of x)', v.byRowLane],
            ['swiglu', 'SwiGLU', v.bySwiglu],
            ['merge', 'chunks a trip of the attention merge', v.byMerge],
            ['steps', 'lane steps a trip of the 8-weight GEMVs', v.bySteps],
            ['walk', "the lane-group GEMVs' longest walk (steps a lane)", v.byWalk],
            ['chunks', "the attention's target workgroups", v.byChunks],
            ['rope', 'RoPE + KV write', v.byRope],
            ['norm', 'fused norm (rows of x fused, Σx²)', v.byNorm],
            ['staged', 'staged GEMV (rows of x, target workgroups, longest K, fewest rows of W)', v.byStaged],
            ['f16', `gate|up reading an f16 xn (from rows of x; shader-f16 ${ctx.features.f16 ? 'on' : 'off: all f32'})`, v.byF16],
            ['mma', `decode matmuls on subgroup matrices (from rows of x; ${mmaSupport(ctx) || 'the device has them'})`, v.byMma],
            ['mmachunk', 'subgroup-matrix chunk (weights at 1 tile, at more) and result rounds', v.byMmaChunk],
            ['red', 'GEMV reduction array (workgroup memory)', v.byRed],
            ['mmasgs', "subgroup-matrix matmul's workgroup size", v.byMmaSubgroups],
            ['attone', 'attention split and merged, or in one dispatch (lanes a key, keys a trip, threads)', v.byAttentionOne],
          ];
          const choice = ([f, r]: [string, number | { ms: number; dispatches: number }]) => (typeof r === 'number' ? `${f} ${r.toFixed(3)} ms` : `${f} ${r.ms.toFixed(3)} ms (${r.dispatches} dispatches)`);
          for (const [set, what, res] of timed) if (only.includes(set)) console.log(`  G=${G} ${k}: the step's pass by ${what}: ${Object.entries(res).map(choice).join(', ')}`);
        }
      }
      destroyLora(ctx, lora);
      const row = { G, prompt: P, completion: C, tokensPerSecond: (G * r.steps) / r.decodeSeconds, msPerDecodeStep: (1000 * r.decodeSeconds) / r.steps, tokensPerSecondLora: (G * rl.steps) / rl.decodeSeconds, msEncodePerStep: (1000 * r.encodeSeconds) / r.steps, msWaitPerStep: (1000 * r.waitSeconds) / r.steps, prefillSeconds: r.prefillSeconds, peakGpuBytes, gc, gcLora, ...parts, stepGpu, loopGpu };
      rows.push(row);
      const split = Number.isNaN(parts.layersMs) ? '' : `layers ${parts.layersMs.toFixed(2)}${'loopFormMs' in parts ? ` (loop-form GEMVs ${parts.loopFormMs.toFixed(2)})` : ''}, LM head ${parts.lmHeadMs.toFixed(2)}, sampling ${parts.sampleMs.toFixed(2)}, all of a step's kernels back to back ${parts.stepKernelsMs.toFixed(2)} ms${'stepSubmittedMs' in parts ? `, steps submitted one by one with no read-back ${parts.stepSubmittedMs.toFixed(2)} ms (CPU ${parts.stepSubmittedCpuMs.toFixed(2)})` : ''}; `;
      console.log(`G=${G} C=${C}: ${row.tokensPerSecond.toFixed(2)} tok/s (with LoRA r = 16: ${row.tokensPerSecondLora.toFixed(2)}), ${row.msPerDecodeStep.toFixed(2)} ms/step (CPU encode + submit ${row.msEncodePerStep.toFixed(2)}, waiting ${row.msWaitPerStep.toFixed(2)}; ${split}${parts.dispatchesPerStep} dispatches), prefill ${r.prefillSeconds.toFixed(3)} s, peak ${(row.peakGpuBytes / 2 ** 30).toFixed(2)} GiB; in the rollout ${formatGc(gc)} (with LoRA ${formatGc(gcLora)})`);
      if ('layerProfile' in parts) console.log(`  one layer at ${G} rows, ${P + C} positions: ${Object.entries(parts.layerProfile).map(([k, v]) => `${k} ${(1000 * v).toFixed(1)} µs`).join(' · ')}`);
      engine.destroy();
    }
  }
  if (values.json) writeFileSync(String(values.json), JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, model: { layers: config.numLayers, hidden: config.hiddenSize, vocab: config.vocabSize, bytes: weights.bytes }, rows }, null, 2));
  return 0;
}

export async function runBenchStep(argv: string[]): Promise<number> {
  const { values, ctx, config, weights, quick, onOff } = await setup(argv);
  const G = Number(values.g ?? (quick ? 4 : 8));
  const cfg = makeConfig({
    numGenerations: G, promptsPerStep: 1, gradientAccumulationSteps: Number(values.micro ?? 1), maxPromptLength: quick ? 16 : 128, maxCompletionLength: quick ? 16 : 256,
    beta: 0.04, loraR: 16, loraAlpha: 16, totalSteps: Number(values.steps ?? 3), temperature: 1, learningRate: 5e-6,
  });
  let s = 1;
  const tok = {
    encode: () => randomPrompt(cfg.maxPromptLength, config.vocabSize, s++), decode: (ids: number[]) => ids.join(' '),
    applyChatTemplate: () => 'prompt', eosTokenIds: [] as number[],
  };
  // random rewards: every group has spread, so advantages (and gradients) are non-zero
  const session = await TrainingSession.create(ctx, weights, tok, { config: cfg, task: { kind: 'countdown', seed: 1, minNums: 3, maxNums: 4, template: 'base' }, rewards: [{ kind: 'custom', name: 'random', weight: 1, code: '' }] }, {
    custom: { score: async (fns, completions) => Object.fromEntries(fns.map((f) => [f.name, completions.map(() => ({ score: Math.random() }))])) },
  });
  session.reuseRollout = onOff('rollout-reuse') ?? session.reuseRollout; // --rollout-reuse off: the policy forward runs the layers again (TRL's way)
  if (values['dkv-keys'] !== undefined) { // --dkv-keys 1|2|4: keys a dk/dv workgroup of the attention backward takes
    const n = Number(values['dkv-keys']);
    if (n !== 1 && n !== 2 && n !== 4) throw new Error(`--dkv-keys ${values['dkv-keys']}: expected 1, 2 or 4`);
    session.backprop.attBack.dkvKeys = n;
  }
  if (values['dkv-split'] !== undefined) { // --dkv-split off|N: the dk/dv of keys with more than N (query, head) pairs split over several workgroups
    const v = values['dkv-split'];
    const n = v === 'off' ? 0 : Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--dkv-split ${v}: expected off or a number of pairs`);
    session.backprop.attBack.dkvSplitPairs = n;
  }
  session.engine.saveFused = onOff('save-fused') ?? session.engine.saveFused; // --save-fused off: the reuse's rows by a scatter dispatch a layer, not by the down GEMVs
  const steps = [];
  while (!session.done) {
    const r = await session.runStep();
    const m = r.metrics;
    const row = { step: session.step, reusedRollout: r.reusedRollout, total: m.step_time, rollout: m['time/rollout'], reference: m['time/reference'], train: m['time/train'], optimizer: m['time/optimizer'] ?? 0, peakGpuBytes: m.gpu_memory_bytes, tokensPerSecond: m.tokens_per_second };
    steps.push(row);
    console.log(`step ${row.step}: ${row.total.toFixed(2)} s = rollout ${row.rollout.toFixed(2)} + reference ${row.reference.toFixed(2)} + forward/backward/optimizer ${row.train.toFixed(2)} (optimizer ${row.optimizer.toFixed(3)}); peak ${(row.peakGpuBytes / 2 ** 30).toFixed(2)} GiB (weights ${(weights.bytes / 2 ** 30).toFixed(2)}, backprop buffers ${(session.backprop.bytes / 2 ** 30).toFixed(2)})${r.reusedRollout ? '; layer inputs from the rollout' : ''}`);
  }
  session.destroy();
  let profile: Record<string, number> | null = null;
  if (values.profile) {
    console.log(`profile of one micro-batch (${G} completions of ${cfg.maxCompletionLength} tokens sharing a ${cfg.maxPromptLength}-token prompt), per layer unless named:`);
    profile = await profileTraining(ctx, weights, G, cfg.maxPromptLength + cfg.maxCompletionLength, cfg.maxCompletionLength, cfg.loraR);
    Object.assign(profile, await profileSession(ctx, weights, cfg));
  }
  if (values.json) writeFileSync(String(values.json), JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, config: cfg, weightsBytes: weights.bytes, steps, profile }, null, 2));
  return 0;
}
