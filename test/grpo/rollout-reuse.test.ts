// The rollout saves each layer's input at the training layout's rows (generate's save), and the
// trainer's first iteration then skips the layers (Backprop.encodeLogprobsSaved): the saved rows
// equal what the training forward computes (the decode GEMVs against the tiled matmul: float noise),
// and a step with the reuse gives the metrics and the adapter of a step without it. Tiny 4-bit Qwen2
// made in the test, LoRA on, β > 0; one prompt, two prompts, two micro-batches (no reuse there), and
// μ = 2 (whose old log-probs are the first pass's).
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu';
import { relError } from '../helpers/compare';
import { tinyCheckpoint } from '../model/tiny-checkpoint';
import { loadModel } from '../../src/model/loader';
import { Engine } from '../../src/model/engine';
import { Backprop } from '../../src/model/backprop';
import { generate } from '../../src/model/generate';
import { rolloutRows } from '../../src/model/train-layout';
import { Recorder } from '../../src/gpu/encoder';
import { readF32 } from '../../src/gpu/buffers';
import { createLora, destroyLora } from '../../src/lora/adapter';
import { readLoraTensors } from '../../src/lora/peft';
import { LoraOptimizer } from '../../src/lora/optimizer';
import { makeConfig, type TrainConfig } from '../../src/grpo/config';
import { uploadBatch } from '../../src/grpo/batch';
import { writeAdapterTensors } from '../../src/grpo/session';
import { normal } from '../helpers/random';
import { trainStep, type TrainerParts } from '../../src/grpo/trainer';
import { createRng } from '../../src/tasks/rng';
import type { GpuContext } from '../../src/gpu/device';
import { destroyModel, type ModelWeights } from '../../src/model/weights';

const G = 4;
const P = 5;
const TC = 6;

async function setup(): Promise<{ ctx: GpuContext; weights: ModelWeights; engine: Engine; backprop: Backprop; destroy(): void }> {
  const ctx = await testGpu();
  const ck = await tinyCheckpoint({ hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 64, tie: false, lmHeadStd: 0.15, seed: 7 });
  const weights = await loadModel(ctx, { config: ck.config, model: ck.model }, { linearFormat: 'q4', embedFormat: 'bf16', log: () => {} });
  const engine = await Engine.create(ctx, weights, { maxTokens: 2 * G, maxPositions: P + TC, maxRank: 8 });
  const backprop = await Backprop.create(ctx, weights, { maxTokens: 2 * (P + G * TC), maxSeqLen: P + TC, maxSeqs: 2 * G, maxRows: 2 * G * TC, maxRank: 8, vocabChunk: 64 });
  return { ctx, weights, engine, backprop, destroy: () => { backprop.destroy(); engine.destroy(); destroyModel(ctx, weights); } };
}

function loraFor(ctx: GpuContext, w: ModelWeights) {
  const c = w.config;
  return createLora(ctx, { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim }, { r: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], seed: 5 });
}

function config(over: Partial<TrainConfig>): TrainConfig {
  return makeConfig({
    numGenerations: G, promptsPerStep: 1, gradientAccumulationSteps: 1, maxPromptLength: P, maxCompletionLength: TC,
    temperature: 1, topP: 1, topK: 0, minP: 0, beta: 0.04, lossType: 'dapo', scaleRewards: 'group', numIterations: 1,
    learningRate: 2e-2, lrSchedule: 'constant', warmupRatio: 0, maxGradNorm: 1, weightDecay: 0, loraR: 8, loraAlpha: 16, totalSteps: 2, seed: 3,
    ...over,
  });
}

describe('rollout reuse', () => {
  for (const [fused, rowLane] of [[true, false], [false, false], [true, true]] as const) {
    it(`the rows a rollout saves are the training forward's layer inputs (${fused ? 'stored by the down GEMVs' : 'a scatter dispatch a layer'}${rowLane ? ', every q4 GEMV the row-lane one' : ''})`, async () => {
      const { ctx, weights, engine, backprop, destroy } = await setup();
      const lora = loraFor(ctx, weights);
      // a nonzero B, so the adapter changes the activations
      const tensors = await readLoraTensors(ctx, lora);
      for (const [key, t] of tensors) if (key.includes('lora_B')) t.data.set(normal(key.length, t.data.length, 0.05));
      writeAdapterTensors(ctx, lora, tensors);
      const prompts = [[20, 21, 22, 23, 24], [30, 31, 32]];
      const rows = rolloutRows(prompts.map((p) => p.length), G, TC);
      const C = weights.config.hiddenSize;
      const L = weights.config.numLayers;
      for (const b of backprop.savedInputs) ctx.device.queue.writeBuffer(b, 0, new Float32Array(b.size / 4).fill(NaN)); // a row nobody saved stays NaN
      // the rollout through the decode GEMVs (a GPU's path; SwiftShader's default is the tiled kernel), the training forward tiled
      const mm = engine.k.matmul;
      const was = [mm.gemvRowLaneRows, mm.gemvRowLaneMinN];
      mm.variantOverride = 'gemv';
      // the row-lane GEMV for every q4 weight at every row count (its default is gate|up-sized weights at 4–8 rows): the fused norm, the LoRA term from a u without the rsqrt, the residual, the saved rows
      if (rowLane) [mm.gemvRowLaneRows, mm.gemvRowLaneMinN] = [1, 0];
      engine.saveFused = fused;
      expect(mm.saveFusable).toBe(true); // SwiftShader binds 12 storage buffers a shader
      const gen = await generate(engine, { prompts, G, maxNewTokens: TC, eosIds: [], lora, sampling: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 9 }, save: { dst: backprop.savedInputs, rows } })
        .finally(() => { mm.variantOverride = null; engine.saveFused = true; [mm.gemvRowLaneRows, mm.gemvRowLaneMinN] = was; });
      const seqs = gen.completions.map((c, b) => ({ prompt: prompts[Math.floor(b / G)], completion: c }));
      const batch = uploadBatch(ctx, seqs, 0, TC);
      expect(batch.units).toEqual(rows.units);
      const saved = await Promise.all(backprop.savedInputs.map((b) => readF32(ctx.device, b, batch.T * C)));
      const rec = new Recorder(ctx, 'policy');
      backprop.encodeLogprobs(rec, batch, lora, 1, true);
      rec.submit();
      const fresh = await Promise.all(backprop.savedInputs.map((b) => readF32(ctx.device, b, batch.T * C)));
      for (let l = 0; l <= L; l++) {
        const e = relError(saved[l], fresh[l]).rel;
        console.log(`layer ${l} input: saved by the rollout vs the training forward, rel error ${e.toExponential(2)}`);
        expect(e, `layer ${l}`).toBeLessThanOrEqual(1e-5);
      }
      batch.destroy();
      destroyLora(ctx, lora);
      destroy();
    }, 300_000);
  }

  for (const [name, over, reuses] of [
    ['one prompt', {}, true],
    ['two prompts (completions run to the last column)', { promptsPerStep: 2 }, true],
    ['two micro-batches (no reuse: the policy forward runs)', { promptsPerStep: 2, gradientAccumulationSteps: 2 }, false],
    ['μ = 2 (the second pass\'s old log-probs are the first pass\'s)', { numIterations: 2 }, true],
  ] as const) {
    it(`${name}: two steps with the reuse match two steps without`, async () => {
      const { ctx, weights, engine, backprop, destroy } = await setup();
      const cfg = config(over);
      const run = async (reuseRollout: boolean) => {
        const lora = loraFor(ctx, weights);
        const optimizer = await LoraOptimizer.create(ctx, lora);
        const rng = createRng(11);
        const parts: TrainerParts<null> = {
          ctx, engine, backprop, lora, optimizer, eosIds: [], seed: 1234, reuseRollout,
          nextPrompts: (n) => Array.from({ length: n }, () => ({ ids: Array.from({ length: P }, () => rng.int(16, 63)), text: 'p', sample: null })),
          decode: (ids) => ids.join(','),
          score: async (completions) => {
            const totals = completions.map((s) => { const ids = s.split(',').map(Number); return ids.filter((t) => t < 16).length / ids.length; });
            return { totals, perFunction: { low_ids: totals }, errors: { low_ids: totals.map(() => '') } };
          },
        };
        const metrics = [];
        for (let step = 0; step < 2; step++) {
          const r = await trainStep(parts, cfg, step);
          expect(r.reusedRollout).toBe(reuseRollout && reuses);
          metrics.push(r.metrics);
        }
        const tensors = await readLoraTensors(ctx, lora);
        optimizer.destroy();
        destroyLora(ctx, lora);
        return { metrics, tensors };
      };
      const a = await run(true);
      const b = await run(false);
      for (let s = 0; s < 2; s++) {
        for (const k of ['loss', 'grad_norm', 'kl', 'entropy', 'reward', 'clip_ratio/region_mean']) {
          const [x, y] = [a.metrics[s][k], b.metrics[s][k]];
          expect(Math.abs(x - y), `step ${s} ${k}: ${x} vs ${y}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(y)));
        }
      }
      let worst = 0;
      for (const [key, t] of a.tensors) worst = Math.max(worst, relError(t.data, b.tensors.get(key)!.data).rel);
      console.log(`${name} (reuse ${reuses}): worst adapter rel error after 2 steps ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-4);
      destroy();
    }, 600_000);
  }
});
