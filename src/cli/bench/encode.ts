// `tabzero bench-encode`: the CPU side of a decode step — the time to encode one step's forward (all
// layers, the LM head) into a command buffer at the 1.5B shape, with and without a LoRA adapter on
// all seven projections, at G = 1, 8, 16 rows. The weights are allocated, never filled (encoding does
// no GPU work, so SwiftShader gives the same CPU numbers as a hardware GPU on the same CPU); the GEMV
// kernels and the split decode attention a hardware GPU uses are forced (or the attention in one
// dispatch: --attention-one). With two decode steps in flight, a step cannot be faster than this.
// Also the same step replayed from a capture (Recorder.replay, what generate() does after the first
// decode step), and on a hardware GPU the CPU time to submit it (finish + submit: Dawn records the
// backend's commands then; the step runs, on unfilled weights). JSON out.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { acquireDevice } from '../../gpu/device';
import { nodeGpu } from '../../gpu/node';
import { Recorder } from '../../gpu/encoder';
import { parseQwen2Config } from '../../model/config';
import { allocModelWeights } from '../../model/loader';
import { Engine } from '../../model/engine';
import { createKvCache, destroyKvCache } from '../../model/kv-cache';
import { createLora, destroyLora } from '../../lora/adapter';
import { LORA_TARGETS } from '../../lora/targets';
import { loraBase } from '../../grpo/session';
import { destroyModel } from '../../model/weights';
import { TARGET_WORKGROUPS } from '../../kernels/attention_gqa';

export async function runBenchEncode(argv: string[]): Promise<number> {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({ args: argv, options: { json: str, config: str, g: str, iters: str, 'attention-one': str } });
  const ctx = await acquireDevice(await nodeGpu());
  const config = parseQwen2Config(JSON.parse(readFileSync(String(values.config ?? 'test/fixtures/qwen2.5-1.5b-instruct.config.json'), 'utf8')));
  const Gs = String(values.g ?? '1,8,16').split(',').map(Number);
  const iters = Number(values.iters ?? 100);
  const { weights } = allocModelWeights(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16' });
  const maxG = Math.max(...Gs);
  const engine = await Engine.create(ctx, weights, { maxTokens: maxG, maxPositions: 512, maxRank: 16 });
  engine.k.matmul.variantOverride = 'gemv';
  engine.k.attentionGqa.targetOverride = TARGET_WORKGROUPS.gpu; // split-KV decode attention, as on a hardware GPU
  // --attention-one N: decode steps of up to N rows take the attention in one dispatch (DecodeFusion.attentionOne; default the engine's)
  const one = values['attention-one'] === undefined ? engine.k.decodeFusion.attentionOne ?? 0 : Number(values['attention-one']);
  if (!(one >= 0)) throw new Error(`--attention-one ${values['attention-one']}: expected a number of rows ≥ 0 or Infinity`);
  engine.k.decodeFusion = { ...engine.k.decodeFusion, attentionOne: one };
  const lora = createLora(ctx, loraBase(weights), { r: 16, alpha: 16, targets: [...LORA_TARGETS], seed: 1 });
  const cache = createKvCache(ctx, config, maxG, 512);
  const b = ctx.memory.create('ids', maxG * 4);
  const logits = ctx.memory.create('logits', maxG * config.vocabSize * 4);
  console.log(`CPU encode time of one decode step, ${config.numLayers} layers × ${config.hiddenSize}, median of ${iters} (first ${Math.min(10, iters)} not counted: pipeline builds)`);
  const rows = [];
  for (const G of Gs) {
    for (const withLora of [false, true]) {
      const ms: number[] = [];
      let dispatches = 0;
      for (let i = 0; i < iters + 10; i++) {
        const t0 = performance.now();
        const rec = new Recorder(ctx, 'encode');
        engine.encodeForward(rec, G, { ids: b, slot: b, pos: b, decode: true }, cache, withLora ? lora : null);
        engine.encodeLogits(rec, logits, G);
        if (i >= 10) ms.push(performance.now() - t0);
        dispatches = rec.dispatches;
        rec.discard();
      }
      ms.sort((x, y) => x - y);
      // the same step replayed from a capture (what generate() does after the first decode step)
      const cap = new Recorder(ctx, 'capture');
      cap.beginCapture();
      engine.encodeForward(cap, G, { ids: b, slot: b, pos: b, decode: true }, cache, withLora ? lora : null);
      engine.encodeLogits(cap, logits, G);
      const capture = cap.endCapture();
      cap.discard();
      const rms: number[] = [];
      for (let i = 0; i < iters + 10; i++) {
        const t0 = performance.now();
        const rec = new Recorder(ctx, 'replay');
        rec.replay(capture);
        if (i >= 10) rms.push(performance.now() - t0);
        rec.discard();
      }
      rms.sort((x, y) => x - y);
      // finishing and submitting a replayed step (Dawn records the backend's commands here), the GPU idle before each
      const sms: number[] = [];
      for (let i = 0; i < (ctx.adapter.isFallback ? 0 : 6); i++) { // SwiftShader would run the 1.5B step on the CPU
        const rec = new Recorder(ctx, 'replay');
        rec.replay(capture);
        const t0 = performance.now();
        rec.submit();
        if (i > 0) sms.push(performance.now() - t0);
        await ctx.device.queue.onSubmittedWorkDone();
      }
      sms.sort((x, y) => x - y);
      const row = { G, lora: withLora, dispatches, medianMs: ms[ms.length >> 1], minMs: ms[0], usPerDispatch: (1000 * ms[ms.length >> 1]) / dispatches, replayMedianMs: rms[rms.length >> 1], replayMinMs: rms[0], submitMedianMs: sms.length ? sms[sms.length >> 1] : null };
      rows.push(row);
      console.log(`G=${G} ${withLora ? 'LoRA r=16 ×7' : 'no adapter  '}: ${row.medianMs.toFixed(2)} ms (min ${row.minMs.toFixed(2)}), ${dispatches} dispatches, ${row.usPerDispatch.toFixed(1)} µs each; replayed ${row.replayMedianMs.toFixed(2)} ms (min ${row.replayMinMs.toFixed(2)})${row.submitMedianMs === null ? '' : `; submit ${row.submitMedianMs.toFixed(2)} ms`}`);
    }
  }
  // every pipeline of the decode step was built at the real shape: their build and validation errors arrive asynchronously
  await ctx.device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 100));
  for (const e of ctx.errors) console.error(`GPU error: ${e.message}`);
  destroyKvCache(ctx, cache);
  destroyLora(ctx, lora);
  engine.destroy();
  destroyModel(ctx, weights);
  if (values.json) writeFileSync(String(values.json), JSON.stringify({ date: new Date().toISOString(), adapter: ctx.adapter, node: process.version, attentionOne: one, rows, gpuErrors: ctx.errors.map((e) => e.message) }, null, 2));
  return ctx.errors.length ? 1 : 0;
}
