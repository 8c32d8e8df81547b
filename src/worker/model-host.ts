// The worker's model commands: load-model (hub through the browser weight cache, or local files;
// progress events; abortable by cancel-load), unload-model, generate (token events, then
// generate-done; stop-generate ends it early). Other long jobs (training) make these refuse.
import { TabZeroError } from '../gpu/errors';
import { destroyModel } from '../model/weights';
import { destroyLora } from '../lora/adapter';
import { WeightCache } from '../storage/weight-cache';
import type { Command } from './protocol';
import type { WorkerContext } from './context';
import { browserLocalFiles, hubModelFiles, localModelFiles, type ModelFiles } from './model-files';
import { loadFromFiles } from './model-load';
import { runChat } from './chat';

type Cmd<T extends Command['type']> = Extract<Command, { type: T }>;

function assertIdle(ctx: WorkerContext, what: string): void {
  const j = ctx.job;
  if (!j) return;
  const doing = j.kind === 'loading' ? 'a model is loading' : j.kind === 'generating' ? 'a reply is being generated' : 'training is running';
  const hint = j.kind === 'loading' ? 'wait for it or cancel it' : j.kind === 'generating' ? 'stop it or wait for it to finish' : 'pause or stop training first';
  throw new TabZeroError(`cannot ${what}: ${doing}`, hint);
}

/** Frees the model, its engine and the adapter made for it (an adapter is tied to the model's shapes). */
export function releaseModel(ctx: WorkerContext, id: number): void {
  const m = ctx.model;
  if (ctx.lora && ctx.gpu) {
    destroyLora(ctx.gpu, ctx.lora);
    ctx.post({ type: 'adapter-active', id, name: null, r: 0, alpha: 0, targets: [] });
  }
  ctx.lora = null;
  ctx.loraName = null;
  ctx.model = null;
  if (m && ctx.gpu) {
    m.engine.destroy();
    destroyModel(ctx.gpu, m.weights);
  }
}

async function modelFiles(cmd: Cmd<'load-model'>, signal: AbortSignal): Promise<ModelFiles> {
  const s = cmd.source;
  if (s.kind === 'files') return localModelFiles(browserLocalFiles(s.files), s.name);
  return hubModelFiles(s, { cache: await WeightCache.open(), signal, write: true });
}

export async function loadModelCommand(cmd: Cmd<'load-model'>, ctx: WorkerContext): Promise<void> {
  assertIdle(ctx, 'load a model');
  const job = { kind: 'loading' as const, id: cmd.id, abort: new AbortController() };
  ctx.job = job;
  try {
    const gpu = await ctx.device();
    releaseModel(ctx, cmd.id); // free the old model's memory before the new one arrives
    const files = await modelFiles(cmd, job.abort.signal);
    let last = 0;
    const model = await loadFromFiles(gpu, files, {
      linearFormat: cmd.linearFormat, embedFormat: cmd.embedFormat, signal: job.abort.signal,
      onProgress: (p) => {
        const now = performance.now();
        if (p.bytesDone < p.bytesTotal && now - last < 100) return; // at most 10 events a second
        last = now;
        ctx.post({ type: 'load-progress', id: cmd.id, ...p });
      },
    });
    ctx.model = model;
    ctx.post({ type: 'model-loaded', id: cmd.id, summary: model.summary });
  } finally {
    if (ctx.job === job) ctx.job = null;
  }
}

export async function cancelLoadCommand(cmd: Cmd<'cancel-load'>, ctx: WorkerContext): Promise<void> {
  if (ctx.job?.kind === 'loading') ctx.job.abort.abort();
  ctx.post({ type: 'ok', id: cmd.id });
}

export async function unloadModelCommand(cmd: Cmd<'unload-model'>, ctx: WorkerContext): Promise<void> {
  assertIdle(ctx, 'unload the model');
  releaseModel(ctx, cmd.id);
  ctx.post({ type: 'ok', id: cmd.id });
}

export async function generateCommand(cmd: Cmd<'generate'>, ctx: WorkerContext): Promise<void> {
  assertIdle(ctx, 'generate');
  const model = ctx.model;
  if (!model) throw new TabZeroError('no model is loaded', 'load a model in the Model panel first');
  if (cmd.adapter && !ctx.lora) throw new TabZeroError('no adapter is active', 'train an adapter, or import or pick one in the Adapters panel; or chat with the base model');
  const job = { kind: 'generating' as const, id: cmd.id, stop: false };
  ctx.job = job;
  try {
    const r = await runChat(model, cmd.messages, cmd.sampling, cmd.adapter ? ctx.lora : null, {
      onText: (text) => ctx.post({ type: 'token', id: cmd.id, text }),
      shouldStop: () => job.stop,
    });
    ctx.post({ type: 'generate-done', id: cmd.id, tokens: r.ids.length, seconds: r.seconds, finished: r.finished });
  } finally {
    if (ctx.job === job) ctx.job = null;
  }
}

export async function stopGenerateCommand(cmd: Cmd<'stop-generate'>, ctx: WorkerContext): Promise<void> {
  if (ctx.job?.kind === 'generating') ctx.job.stop = true;
  ctx.post({ type: 'ok', id: cmd.id });
}
