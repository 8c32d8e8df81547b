// The worker's adapter commands: export-adapter (PEFT files of the active adapter, bytes transferred),
// import-adapter (validated PEFT files → the active adapter), load-stored-adapter (IndexedDB → active)
// and clear-adapter. Signature: (cmd, ctx) => Promise<void>; the active adapter lives in ctx.lora /
// ctx.loraName; adapter-active answers the last three (name null and r 0 after clear).
import { TabZeroError } from '../gpu/errors';
import { destroyLora, type LoraAdapter } from '../lora/adapter';
import { checkLayoutAgainstBase, peftWarnings } from '../lora/check';
import { readPeftFiles } from '../lora/files';
import { LoraError, exportPeft, importPeft } from '../lora/peft';
import { loadAdapterFromStore, loraBaseOf, type BaseModelRef } from '../lora/store-glue';
import { openStorage, type Storage } from '../storage/store';
import type { Command } from './protocol';
import type { LoadedModel, WorkerContext } from './context';

type Cmd<T extends Command['type']> = Extract<Command, { type: T }>;

let storage: Promise<Storage> | null = null;
function workerStorage(): Promise<Storage> {
  storage ??= openStorage().catch((e: unknown) => { storage = null; throw e; });
  return storage;
}

function loadedModel(ctx: WorkerContext, what: string): LoadedModel {
  if (!ctx.model) throw new TabZeroError(`cannot ${what}: no model is loaded`, 'load the base model first (Model panel); adapters apply to a loaded model');
  return ctx.model;
}

/** Refuses to swap adapters under a running job (training or generation reads ctx.lora). */
function checkIdle(ctx: WorkerContext, what: string): void {
  const job = ctx.job;
  if (job && job.kind !== 'loading') {
    throw new TabZeroError(`cannot ${what} while ${job.kind === 'training' ? 'training runs' : 'a reply is being generated'}`, `${job.kind === 'training' ? 'pause or stop training' : 'stop the reply'} first`);
  }
}

function baseRef(m: LoadedModel): BaseModelRef {
  // shapes must match; another weights fingerprint refuses, another model id with the same weights only warns
  return { modelId: m.name, weightsHash: m.weights.fingerprint, shape: loraBaseOf(m.config) };
}

function checkRank(m: LoadedModel, r: number): void {
  const max = m.engine.opts.maxRank;
  if (r > max) throw new LoraError(`adapter has r = ${r}, the loaded engine supports up to ${max}`, `use an adapter with r ≤ ${max}`);
}

/** Makes `a` the active adapter (destroying the previous one) and tells the UI. */
function activate(ctx: WorkerContext, id: number, a: LoraAdapter, name: string, warnings: string[] = []): void {
  const old = ctx.lora;
  ctx.lora = a;
  ctx.loraName = name;
  if (old && old !== a && ctx.gpu) destroyLora(ctx.gpu, old);
  ctx.post({ type: 'adapter-active', id, name, r: a.r, alpha: a.alpha, targets: [...a.targets], ...(warnings.length ? { warnings } : {}) });
}

export async function exportAdapter(cmd: Cmd<'export-adapter'>, ctx: WorkerContext): Promise<void> {
  const model = loadedModel(ctx, 'export an adapter');
  if (!ctx.lora || !ctx.gpu) throw new TabZeroError('no adapter is active to export', 'train one, or pick a stored adapter; stored adapters export from the library without the GPU');
  const { config, safetensors } = await exportPeft(ctx.gpu, ctx.lora, model.name);
  const buf = safetensors.byteOffset === 0 && safetensors.byteLength === safetensors.buffer.byteLength ? safetensors.buffer as ArrayBuffer : safetensors.slice().buffer;
  const warnings = peftWarnings({ r: ctx.lora.r, baseModel: model.name });
  ctx.post({ type: 'adapter-exported', id: cmd.id, config, safetensors: buf, warnings }, [buf]);
}

export async function importAdapter(cmd: Cmd<'import-adapter'>, ctx: WorkerContext): Promise<void> {
  const model = loadedModel(ctx, 'import an adapter');
  checkIdle(ctx, 'import an adapter');
  const configText = typeof cmd.config === 'string' ? cmd.config : JSON.stringify(cmd.config);
  const b = readPeftFiles(configText, new Uint8Array(cmd.safetensors));
  const base = loraBaseOf(model.config);
  checkLayoutAgainstBase(b.layout, base, b.settings.baseModel);
  checkRank(model, b.settings.r);
  const gpu = await ctx.device();
  activate(ctx, cmd.id, importPeft(gpu, base, b.settings, b.tensors), cmd.name || b.settings.baseModel || 'imported adapter');
}

export async function loadStoredAdapter(cmd: Cmd<'load-stored-adapter'>, ctx: WorkerContext): Promise<void> {
  const model = loadedModel(ctx, 'load a stored adapter');
  checkIdle(ctx, 'load a stored adapter');
  const s = await workerStorage();
  const gpu = await ctx.device();
  // other weights of the same shape (e.g. trained on the NF4 upload, used on the bf16 one) load with a warning
  const { adapter, meta, warnings } = await loadAdapterFromStore(gpu, s, cmd.adapterId, baseRef(model), { allowOtherWeights: true });
  if (adapter.r > model.engine.opts.maxRank) {
    destroyLora(gpu, adapter);
    checkRank(model, adapter.r);
  }
  activate(ctx, cmd.id, adapter, meta.name, warnings);
}

export async function clearAdapter(cmd: Cmd<'clear-adapter'>, ctx: WorkerContext): Promise<void> {
  checkIdle(ctx, 'remove the adapter');
  if (ctx.lora && ctx.gpu) destroyLora(ctx.gpu, ctx.lora);
  ctx.lora = null;
  ctx.loraName = null;
  ctx.post({ type: 'adapter-active', id: cmd.id, name: null, r: 0, alpha: 0, targets: [] });
}
