// The GPU-timed benchmarks run end to end on SwiftShader at tiny shapes (the device runs cost
// minutes each, so a broken benchmark must fail here): the cold-weight GEMV sweep (every layout,
// both row reductions, the same-bytes copy and the dispatch floor), the streamed GEMVs, and a decode loop whose steps
// are GPU-timestamped through generate()'s timeStep hook — same tokens as untimed; and `bench-step
// --profile`'s whole passes of a session (its batch is one group: a prompt shared by G completions).
import { describe, expect, it } from 'vitest';
import { benchGemvCold } from '../../src/cli/bench/gemv-cold';
import { STREAM_L2_VARIANTS, STREAM_ROWS_VARIANTS, STREAM_VARIANTS, benchGemvStream } from '../../src/cli/bench/gemv-stream';
import { benchFmaPeak } from '../../src/cli/bench/fma-peak';
import { GpuTimer } from '../../src/cli/bench/gpu-timer';
import { MatmulKernel } from '../../src/kernels/matmul';
import { buildRandomModel } from '../../src/model/random';
import { destroyModel } from '../../src/model/weights';
import { parseQwen2Config } from '../../src/model/config';
import { Engine } from '../../src/model/engine';
import { generate } from '../../src/model/generate';
import { testGpu } from '../helpers/gpu';
import { tinyConfigJson } from '../model/tiny-checkpoint';
import { profileSession } from '../../src/cli/bench/profile';
import { makeConfig } from '../../src/grpo/config';

describe('GPU-timed benchmarks', () => {
  it('cold GEMV sweep at a tiny shape: every layout once, the default marked, reduce_rows compared', async () => {
    const ctx = await testGpu();
    const kernel = await MatmulKernel.create(ctx);
    const r = await benchGemvCold(ctx, kernel, [[64, 256]], [1, 8], true, 64 << 10);
    expect(r).not.toBeNull();
    const layouts = r!.rows.map((x) => `${x.M}:${x.layout}`);
    expect(new Set(layouts).size).toBe(layouts.length);
    expect(layouts.filter((l) => l.endsWith('(default)'))).toHaveLength(2);
    expect(layouts.some((l) => /^1:.*-rr/.test(l)) && layouts.some((l) => /^8:nr4-/.test(l))).toBe(true);
    for (const x of r!.rows) expect(x.gpuMs).toBeGreaterThanOrEqual(0);
    expect(r!.sameBytesCopyMs['64x256']).toBeGreaterThanOrEqual(0); // SwiftShader's clock may not tick over a copy this small
    expect(r!.tinyCopyMs).toBeGreaterThanOrEqual(0);
  });

  it('streamed GEMVs at a tiny shape: every M and body (the staged GEMV at one row of x; a body the kernel refuses is left out), bandwidths against the 64 MiB copy and the same bytes copied', async () => {
    const ctx = await testGpu();
    const variants = [...STREAM_VARIANTS.slice(0, 2), { name: 'refused', opts: { gemvStaged: true, gemvLanes: 64 } }];
    const r = await benchGemvStream(ctx, await MatmulKernel.create(ctx), [['tiny', 64, 256]], [1, 8], 3, variants);
    expect(r).not.toBeNull();
    expect(r!.rows.map((x) => `${x.name}:${x.M}:${x.count}:${x.variant}`)).toEqual(['tiny:1:3:lane-group', 'tiny:1:3:staged', 'tiny:8:3:lane-group']);
    for (const x of r!.rows) expect(x.msEach).toBeGreaterThanOrEqual(0);
    expect(r!.copyGbps).toBeGreaterThan(0);
    expect(r!.rows.map((x) => x.maxDiff)).toEqual([0, expect.any(Number), 0]);
    expect(r!.rows[1].maxDiff).toBeLessThan(1e-5); // the staged body's y against the lane-group's
  });

  it('the L2 set streamed at one row: each body from a weight a layer and from one weight (every dispatch the same), the same result', async () => {
    const ctx = await testGpu();
    const r = await benchGemvStream(ctx, await MatmulKernel.create(ctx), [['tiny', 64, 256]], [1], 3, STREAM_L2_VARIANTS);
    expect(r!.rows.map((x) => x.variant)).toEqual(['lane-group', 'lane-group, weights in L2', 'staged', 'staged, weights in L2']);
    for (const x of r!.rows) expect(x.maxDiff).toBeLessThan(1e-5);
  });

  it('the many-row set streamed at 16 rows: every body agrees with the first (lane-group); the multiply-add probes run', async () => {
    const ctx = await testGpu();
    const pick = ['lane-group', 'lane-group, 4-weight step', 'row-lane 2×8, 128 threads', 'row-lane 4×16, 256 threads', 'tiled'];
    const r = await benchGemvStream(ctx, await MatmulKernel.create(ctx), [['tiny', 64, 256]], [16], 2, STREAM_ROWS_VARIANTS.filter((v) => pick.includes(v.name)));
    expect(r!.rows.map((x) => x.variant)).toEqual(pick);
    for (const x of r!.rows) expect(x.maxDiff).toBeLessThan(1e-5);
    const probes = await benchFmaPeak(ctx, 1, 2);
    expect(probes!.map((p) => p.name)).toContain('lut 16×2, vec4 fma chains instead of dot()');
    for (const p of probes!) expect(p.tfmaPerS).toBeGreaterThanOrEqual(0);
  });

  it('decode loop with each replayed step GPU-timed: same tokens, one busy time per step from step 2', async () => {
    const ctx = await testGpu();
    const config = parseQwen2Config(tinyConfigJson({ hidden: 64, intermediate: 128, vocab: 256, tie: true }));
    const weights = await buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 3 });
    const engine = await Engine.create(ctx, weights, { maxTokens: 8, maxPositions: 32, maxRank: 0 });
    const timer = GpuTimer.create(ctx)!;
    const req = { prompts: [[1, 2, 3]], G: 2, maxNewTokens: 6, eosIds: [], lora: null, sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 5 } };
    const plain = await generate(engine, req);
    let hooked = 0;
    const timed = await generate(engine, { ...req, timeStep: (rec, s, encode) => { hooked++; timer.stepHook(rec, s, encode); } });
    expect(timed.completions).toEqual(plain.completions);
    expect(hooked).toBe(4); // steps 2…5: step 0 samples the prefill's logits, step 1 is captured
    const { busyMs, gapMs } = await timer.loopSteps(2, timed.steps);
    expect(busyMs).toHaveLength(4);
    expect(gapMs).toHaveLength(3);
    for (const t of busyMs) expect(t).toBeGreaterThanOrEqual(0);
    timer.destroy();
    engine.destroy();
    destroyModel(ctx, weights);
  });

  it('bench-step --profile: a session\'s passes at a tiny shape, on the batch a step would lay out', async () => {
    const ctx = await testGpu();
    const config = parseQwen2Config(tinyConfigJson({ hidden: 64, intermediate: 128, vocab: 256, tie: true }));
    const weights = await buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 4 });
    const cfg = makeConfig({ numGenerations: 3, promptsPerStep: 1, maxPromptLength: 5, maxCompletionLength: 4, loraR: 4, loraAlpha: 8 });
    const out = await profileSession(ctx, weights, cfg);
    for (const name of ['session: reference forward + LM head (adapter off)', 'session: policy pass on the rollout\'s saved inputs (final norm + LM head)', 'session: backward (recompute + LoRA grads)', 'decode step layers, LoRA']) {
      expect(out[name]).toBeGreaterThanOrEqual(0);
    }
    destroyModel(ctx, weights);
  });
});
