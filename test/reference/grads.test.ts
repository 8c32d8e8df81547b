// Reference test of LoRA training against TRL + PEFT, for every test/fixtures/reference-* directory:
// log-probs (policy and reference model), then for all 6 case × variant combinations the loss head
// scalars (loss, kl_mean, clip_ratio), every LoRA gradient (≤ 1e-3 relative error per tensor) and
// the global grad norm. Backward runs on the GPU through the frozen bf16 base with recompute, in
// both training layouts: the group's completions sharing their prompt's rows (what the trainer
// runs) and each completion with a copy of the prompt (TRL's layout). The shared layout runs its
// tiled matmuls split-K wherever they can be split and the attention backward's dk/dv in parts of
// 5 (query, head) pairs (both forced at this tiny size; Backprop's scratch), the other without.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/encoder';
import { readF32 } from '../../src/gpu/buffers';
import type { GpuContext } from '../../src/gpu/device';
import { Backprop, type LoraGradLayers } from '../../src/model/backprop';
import { engineKernels } from '../../src/model/kernels';
import { uploadBatch } from '../../src/grpo/batch';
import { grpoLoss, type LossType } from '../../src/grpo/loss';
import { computeAdvantages } from '../../src/grpo/advantages';
import { allocLora, destroyLora, type LoraAdapter } from '../../src/lora/adapter';
import { importPeft, parsePeftConfig, readLoraTensors } from '../../src/lora/peft';
import { destroyModel, type ModelWeights } from '../../src/model/weights';
import { listReferenceFixtures, loadReferenceFixture, type ReferenceFixture } from '../helpers/fixtures';
import { loadFixtureModel } from '../helpers/model';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';

const VARIANTS: LossType[] = ['grpo', 'bnpo', 'dr_grpo'];
const CASES = ['ratio1', 'offpolicy'] as const;

function baseShape(w: ModelWeights) {
  const c = w.config;
  return { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim };
}

for (const name of listReferenceFixtures()) for (const share of [true, false]) {
  describe(`reference ${name}: GRPO loss and LoRA gradients, ${share ? 'prompt shared by the group' : 'a prompt per sequence'}`, () => {
    let ctx: GpuContext;
    let f: ReferenceFixture;
    let weights: ModelWeights;
    let lora: LoraAdapter;
    let bp: Backprop;
    let batch: ReturnType<typeof uploadBatch>;
    let logp: Float32Array;
    let refLogp: Float32Array;
    const G = () => f.tensors.get('input_ids')!.shape[0];
    const Tc = () => f.tensors.get('completion_mask')!.shape[1];

    let restore = () => {};

    beforeAll(async () => {
      ctx = await testGpu();
      if (share) {
        const mm = (await engineKernels(ctx)).matmul;
        const was = [mm.splitWorkgroups, mm.splitMinSteps];
        [mm.splitWorkgroups, mm.splitMinSteps] = [1 << 20, 1];
        restore = () => { [mm.splitWorkgroups, mm.splitMinSteps] = was; };
      }
      f = loadReferenceFixture(name);
      weights = (await loadFixtureModel(ctx, f.dir, 'bf16')).weights;
      const s = parsePeftConfig(f.adapterConfig);
      const tensors = new Map([...f.adapterTensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, bytes: new Uint8Array(Float32Array.from(t.data).buffer) }]));
      lora = importPeft(ctx, baseShape(weights), s, tensors);
      const ids = f.tensors.get('input_ids')!;
      const [g, T] = ids.shape;
      const P = f.cases.prompt_len as number;
      const seqs = Array.from({ length: g }, (_, b) => ({ prompt: Array.from(ids.data.subarray(b * T, b * T + P)), completion: Array.from(ids.data.subarray(b * T + P, (b + 1) * T)) }));
      bp = await Backprop.create(ctx, weights, { maxTokens: g * T, maxSeqLen: T, maxSeqs: g, maxRows: g * (T - P), maxRank: s.r, vocabChunk: 256 });
      bp.attBack.dkvSplitPairs = share ? 5 : 0;
      batch = uploadBatch(ctx, seqs, 0, T - P, share);
      expect(batch.T).toBe(share ? P + g * (T - P - 1) : g * (T - 1));
      const temperature = f.cases.temperature as number;
      for (const withLora of [true, false]) {
        const rec = new Recorder(ctx, 'logp');
        bp.encodeLogprobs(rec, batch, withLora ? lora : null, temperature, false);
        rec.submit();
        const out = await readF32(ctx.device, bp.logp, batch.M);
        if (withLora) logp = out; else refLogp = out;
      }
    });
    afterAll(() => {
      restore();
      batch.destroy();
      bp.destroy();
      destroyLora(ctx, lora);
      destroyModel(ctx, weights);
    });

    it('per-token log-probs with and without the adapter equal logprobs / ref_logprobs', () => {
      const mask = f.tensors.get('completion_mask')!.data;
      const pick = (a: ArrayLike<number>) => Array.from(a).filter((_, i) => mask[i]);
      const e1 = relError(pick(logp), pick(f.tensors.get('logprobs')!.data)).rel;
      const e2 = relError(pick(refLogp), pick(f.tensors.get('ref_logprobs')!.data)).rel;
      console.log(`${name} logprobs rel error ${e1.toExponential(2)}, ref_logprobs ${e2.toExponential(2)}`);
      expect(e1).toBeLessThanOrEqual(1e-4);
      expect(e2).toBeLessThanOrEqual(1e-4);
    });

    for (const cs of CASES) {
      for (const variant of VARIANTS) {
        it(`${cs}.${variant}: loss, kl_mean, clip_ratio, every LoRA gradient and grad_norm`, async () => {
          const want = (f.cases.cases as unknown as Record<string, { loss: number; kl_mean: number; clip_ratio: number; grad_norm: number }>)[`${cs}.${variant}`];
          const mask = f.tensors.get('completion_mask')!.data;
          const adv = computeAdvantages(Array.from(f.tensors.get('rewards')!.data), G(), 'group').advantages;
          const loss = grpoLoss(
            { B: G(), T: Tc(), logp, oldLogp: cs === 'offpolicy' ? f.tensors.get('old_logprobs_offpolicy')!.data : null, refLogp, advantages: adv, mask },
            { beta: f.cases.beta as number, epsilonLow: f.cases.epsilon_low as number, epsilonHigh: f.cases.epsilon_high as number, lossType: variant, maxCompletionLength: f.cases.max_completion_length as number },
          );
          expect(Math.abs(loss.loss - want.loss)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want.loss)));
          expect(Math.abs((loss.metrics.klMean ?? 0) - want.kl_mean)).toBeLessThanOrEqual(1e-4 * Math.max(1e-2, Math.abs(want.kl_mean)));
          expect(loss.metrics.clipRatio).toBeCloseTo(want.clip_ratio, 6);
          // backward
          const grads = allocLora(ctx, baseShape(weights), { r: lora.r, alpha: lora.alpha, targets: lora.targets });
          const gradLayers: LoraGradLayers = grads.layers.map((l) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { A: v.A, B: v.B }])) as LoraGradLayers[number]);
          ctx.device.queue.writeBuffer(bp.dlogp, 0, Float32Array.from(loss.dLogp));
          const rec = new Recorder(ctx, 'backward');
          bp.encodeLogprobs(rec, batch, lora, f.cases.temperature as number, true);
          bp.encodeBackward(rec, batch, lora, gradLayers, f.cases.temperature as number);
          rec.submit();
          const got = new Map([...(await readLoraTensors(ctx, grads))].map(([k, t]) => [k, t.data]));
          let sq = 0;
          let worst = 0;
          for (const [key, g] of got) {
            const ref = f.tensors.get(`grad.${cs}.${variant}.${key}`)!;
            const e = relError(g, ref.data).rel;
            worst = Math.max(worst, e);
            expect(e, `${key}`).toBeLessThanOrEqual(1e-3);
            for (const v of g) sq += v * v;
          }
          const norm = Math.sqrt(sq);
          console.log(`${name} ${cs}.${variant}: loss ${loss.loss.toFixed(6)} (want ${want.loss.toFixed(6)}), worst grad rel error ${worst.toExponential(2)}, grad_norm ${norm.toFixed(6)} (want ${want.grad_norm.toFixed(6)})`);
          expect(Math.abs(norm - want.grad_norm) / want.grad_norm).toBeLessThanOrEqual(1e-3);
          destroyLora(ctx, grads);
        });
      }
    }
  });
}
