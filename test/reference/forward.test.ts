// Reference test of the inference engine against Hugging Face transformers + PEFT, for every
// test/fixtures/reference-* directory (a new directory needs no code change):
//  - unquantized (bf16, as the checkpoint stores them) weights: logits_base and logits_lora within
//    1e-4 relative error at every real position; greedy_base and greedy_lora identical;
//  - 4-bit weights: within 1e-4 of the engine's own dequantized CPU reference; the error against
//    the HF numbers is printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/gpu/encoder';
import { readF32 } from '../../src/gpu/buffers';
import type { GpuContext } from '../../src/gpu/device';
import { Engine } from '../../src/model/engine';
import { createKvCache, destroyKvCache } from '../../src/model/kv-cache';
import { generate } from '../../src/model/generate';
import { destroyModel, type ModelWeights } from '../../src/model/weights';
import { importPeft, parsePeftConfig } from '../../src/lora/peft';
import { destroyLora, type LoraAdapter } from '../../src/lora/adapter';
import { qwen2ForwardRef } from '../../src/reference/qwen2';
import { listReferenceFixtures, loadReferenceFixture, type ReferenceFixture } from '../helpers/fixtures';
import { loadFixtureModel, refModelFrom } from '../helpers/model';
import { relError } from '../helpers/compare';
import { testGpu } from '../helpers/gpu';

function loraOf(ctx: GpuContext, f: ReferenceFixture, w: ModelWeights): LoraAdapter {
  const c = w.config;
  const base = { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim };
  const tensors = new Map([...f.adapterTensors].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape, bytes: new Uint8Array(Float32Array.from(t.data).buffer) }]));
  return importPeft(ctx, base, parsePeftConfig(f.adapterConfig), tensors);
}

/** logits [G·T, V] of the fixture's input_ids, all G sequences in one forward call */
async function fixtureLogits(ctx: GpuContext, engine: Engine, f: ReferenceFixture, lora: LoraAdapter | null): Promise<Float32Array> {
  const ids = f.tensors.get('input_ids')!;
  const [G, T] = ids.shape;
  const cache = createKvCache(ctx, engine.weights.config, G, T);
  const m = ctx.memory;
  const io = {
    ids: m.upload('ids', Int32Array.from(ids.data)),
    slot: m.upload('slot', Int32Array.from({ length: G * T }, (_, i) => Math.floor(i / T))),
    pos: m.upload('pos', Int32Array.from({ length: G * T }, (_, i) => i % T)),
  };
  const out = m.create('logits', G * T * engine.V * 4);
  const rec = new Recorder(ctx, 'fixture');
  engine.encodeForward(rec, G * T, io, cache, lora);
  engine.encodeLogits(rec, out, G * T);
  rec.submit();
  const logits = await readF32(ctx.device, out);
  [io.ids, io.slot, io.pos, out].forEach((b) => m.destroy(b));
  destroyKvCache(ctx, cache);
  return logits;
}

/** relative error over real positions only (attention_mask = 1) */
function maskedError(got: Float32Array, want: ArrayLike<number>, mask: ArrayLike<number>, V: number): number {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let v = 0; v < V; v++) { a.push(got[i * V + v]); b.push(want[i * V + v]); }
  }
  return relError(a, b).rel;
}

for (const name of listReferenceFixtures()) {
  describe(`reference ${name}: forward`, () => {
    let ctx: GpuContext;
    let f: ReferenceFixture;
    beforeAll(async () => {
      ctx = await testGpu();
      f = loadReferenceFixture(name);
    });

    for (const format of ['bf16', 'q4'] as const) {
      describe(`${format} weights`, () => {
        let weights: ModelWeights;
        let engine: Engine;
        let lora: LoraAdapter;
        beforeAll(async () => {
          weights = (await loadFixtureModel(ctx, f.dir, format)).weights;
          const [G, T] = f.tensors.get('input_ids')!.shape;
          engine = await Engine.create(ctx, weights, { maxTokens: G * T, maxPositions: T + 16, maxRank: f.cases.lora_r as number });
          lora = loraOf(ctx, f, weights);
        });
        afterAll(() => {
          destroyLora(ctx, lora);
          engine.destroy();
          destroyModel(ctx, weights);
        });

        for (const withLora of [false, true]) {
          const key = withLora ? 'logits_lora' : 'logits_base';
          it(`${key}`, async () => {
            const want = f.tensors.get(key)!;
            const mask = f.tensors.get('attention_mask')!.data;
            const V = want.shape[2];
            const got = await fixtureLogits(ctx, engine, f, withLora ? lora : null);
            const vsHf = maskedError(got, want.data, mask, V);
            if (format === 'bf16') {
              console.log(`${name} ${format} ${key}: relative error vs HF ${vsHf.toExponential(2)}`);
              expect(vsHf).toBeLessThanOrEqual(1e-4);
            } else {
              const ref = await refModelFrom(ctx, weights, withLora ? { config: f.adapterConfig, tensors: f.adapterTensors } : undefined);
              const ids = f.tensors.get('input_ids')!;
              const [G, T] = ids.shape;
              const refLogits = new Float32Array(G * T * V);
              for (let g = 0; g < G; g++) refLogits.set(qwen2ForwardRef(ref, Array.from(ids.data.subarray(g * T, (g + 1) * T))), g * T * V);
              const vsRef = maskedError(got, refLogits, mask, V);
              console.log(`${name} q4 ${key}: vs own dequantized reference ${vsRef.toExponential(2)}; vs HF full precision ${vsHf.toExponential(2)} (4-bit quantization error)`);
              expect(vsRef).toBeLessThanOrEqual(1e-4);
            }
          });
        }

        // (bf16 only: the q4 tiled kernel's split-K is covered by test/kernels/matmul.test.ts)
        if (format === 'bf16') it('logits_lora with the forward\'s tiled q|k|v, o and down matmuls split-K through acts.gu (forced at this size): the same logits', async () => {
          const mm = engine.k.matmul;
          const was = [mm.splitWorkgroups, mm.splitMinSteps];
          const plain = await fixtureLogits(ctx, engine, f, lora);
          [mm.splitWorkgroups, mm.splitMinSteps] = [1 << 20, 1];
          try {
            const split = await fixtureLogits(ctx, engine, f, lora);
            expect(relError(split, plain).rel).toBeLessThanOrEqual(1e-5);
            expect(split.some((v, i) => v !== plain[i]), 'the split changed the summation order somewhere').toBe(true);
          } finally {
            [mm.splitWorkgroups, mm.splitMinSteps] = was;
          }
        });

        if (format === 'bf16') {
          for (const withLora of [false, true]) {
            const key = withLora ? 'greedy_lora' : 'greedy_base';
            it(`${key} (greedy decode through the KV cache) is identical`, async () => {
              const want = Array.from(f.tensors.get(key)!.data);
              const P = f.cases.prompt_len as number;
              const prompt = Array.from(f.tensors.get('input_ids')!.data.subarray(0, P));
              const r = await generate(engine, {
                prompts: [prompt], G: 1, maxNewTokens: want.length, eosIds: [], lora: withLora ? lora : null,
                sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0 },
              });
              expect(r.completions[0]).toEqual(want);
            });
            // SwiftShader takes the tiled kernel for every M; force the decode GEMVs a hardware GPU runs
            // (dense GEMV for the LoRA u, the LoRA term in the GEMV epilogue, the residual accumulate):
            // the norms unfused (gate|up storing silu(gate)·up), the q|k|v norm fused only, and both norms
            // fused with the SwiGLU in the down GEMV's x reads (gate|up's store off); the decode
            // attention split into key chunks as on a GPU, so the fused cases take RoPE and the KV
            // write into the attention (DecodeFusion.rope) and 'none' runs rope_kv before it; and the attention in one
            // dispatch (attention_decode: RoPE and the KV write inside, DecodeFusion.attentionOne)
            for (const fused of ['none', 'q|k|v norm', 'norms and SwiGLU', 'q|k|v norm and the one-dispatch attention'] as const) {
              it(`${key} through the decode GEMV kernels${fused === 'none' ? '' : `, ${fused} fused into them,`} is identical`, async () => {
                const want = Array.from(f.tensors.get(key)!.data);
                const P = f.cases.prompt_len as number;
                const prompt = Array.from(f.tensors.get('input_ids')!.data.subarray(0, P));
                const before = engine.k.decodeFusion;
                engine.k.matmul.variantOverride = 'gemv';
                engine.k.attentionGqa.targetOverride = 256;
                engine.k.matmul.swigluStore = fused !== 'norms and SwiGLU';
                engine.k.decodeFusion = fused === 'norms and SwiGLU' ? { norm: Infinity, swiglu: Infinity, rope: true } : fused === 'q|k|v norm' ? { norm: Infinity, normMlp: 0, swiglu: 0, rope: true }
                  : fused === 'none' ? { norm: 0, swiglu: 0, rope: false } : { norm: Infinity, normMlp: 0, swiglu: 0, rope: true, attentionOne: Infinity };
                const one = engine.k.attentionDecode;
                const encodeOne = one.encode;
                let ones = 0;
                one.encode = (...a) => { ones++; encodeOne.apply(one, a); };
                try {
                  const r = await generate(engine, {
                    prompts: [prompt], G: 1, maxNewTokens: want.length, eosIds: [], lora: withLora ? lora : null,
                    sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 0 },
                  });
                  expect(r.completions[0]).toEqual(want);
                  expect(ones > 0, 'the one-dispatch attention ran').toBe(fused.includes('one-dispatch'));
                } finally {
                  one.encode = encodeOne;
                  engine.k.matmul.variantOverride = null;
                  engine.k.attentionGqa.targetOverride = null;
                  engine.k.matmul.swigluStore = true;
                  engine.k.decodeFusion = before;
                }
              });
            }
          }
        }
      });
    }
  });
}
