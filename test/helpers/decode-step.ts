// A tiny q4 model (hidden 64, MLP 128, vocab 256, tied bf16 embedding) on a given device, and which
// pipelines a decode step of T rows dispatches there, in order: for the tests that check which kernels
// a step takes on Dawn's null backend (it builds pipelines and computes nothing).
import type { GpuContext } from '../../src/gpu/device';
import { Recorder } from '../../src/gpu/encoder';
import { parseQwen2Config } from '../../src/model/config';
import { Engine } from '../../src/model/engine';
import { createKvCache, destroyKvCache } from '../../src/model/kv-cache';
import { buildRandomModel } from '../../src/model/random';
import { destroyModel } from '../../src/model/weights';
import { tinyConfigJson } from '../model/tiny-checkpoint';

export interface TinyDecode {
  engine: Engine;
  /** the labels of a decode step's pipelines (with `logits`, the LM head's after the forward) and the GPU errors it raised; `dispatch` false: the pipelines are built, nothing is dispatched (pipelines a device cannot bind) */
  step(T: number, logits?: boolean, dispatch?: boolean): Promise<{ labels: string[]; errors: string[] }>;
  destroy(): void;
}

export async function tinyDecode(ctx: GpuContext): Promise<TinyDecode> {
  const config = parseQwen2Config(tinyConfigJson({ hidden: 64, intermediate: 128, vocab: 256, tie: true }));
  const weights = await buildRandomModel(ctx, config, { linearFormat: 'q4', embedFormat: 'bf16', seed: 3 });
  const engine = await Engine.create(ctx, weights, { maxTokens: 16, maxPositions: 32, maxRank: 0 });
  const step = async (T: number, logits = false, run = true) => {
    const cache = createKvCache(ctx, config, T, 32);
    const m = ctx.memory;
    const b = m.create('io', T * 4);
    const out = logits ? m.create('logits', T * config.vocabSize * 4) : null;
    const before = ctx.errors.length;
    const rec = new Recorder(ctx, `decode ${T}`);
    const labels: string[] = [];
    const dispatch = rec.dispatch.bind(rec);
    rec.dispatch = (pl, ...rest) => (labels.push(pl.label), run ? dispatch(pl, ...rest) : undefined);
    engine.encodeForward(rec, T, { ids: b, slot: b, pos: b, decode: true }, cache, null);
    if (out) engine.encodeLogits(rec, out, T);
    rec.submit();
    await ctx.device.queue.onSubmittedWorkDone();
    const errors = ctx.errors.slice(before).map((e) => e.message);
    destroyKvCache(ctx, cache);
    m.destroy(b);
    m.destroy(out);
    return { labels, errors };
  };
  return { engine, step, destroy: () => { engine.destroy(); destroyModel(ctx, weights); } };
}
