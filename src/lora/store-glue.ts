// Between a GPU LoraAdapter and storage/: save reads the targeted slices back as PEFT-keyed F32
// tensors and writes them (new adapter, or a new version of one) with the training facts; load
// reads them back, checks they fit the loaded base model, and imports them as importPeft does.
import type { GpuContext } from '../gpu/device';
import type { Qwen2Config } from '../model/config';
import type { AdapterFields, AdapterMeta } from '../storage/schema';
import type { LoadedAdapter, Storage } from '../storage/store';
import type { LoraAdapter, LoraBaseShape } from './adapter';
import { checkLayoutAgainstBase, inspectPeftTensors, type PeftLayout } from './check';
import { LoraError, importPeft, parsePeftConfig, readLoraTensors, type PeftSettings, type PeftTensor } from './peft';

/** The loaded base model, as adapters refer to it. */
export interface BaseModelRef {
  /** repo id or folder name */
  modelId: string;
  /** a fingerprint of the base weights ('' when unknown: then only shapes are compared) */
  weightsHash: string;
  shape: LoraBaseShape;
}

/** The shapes a LoRA adapter needs, from a Qwen2 config. */
export function loraBaseOf(c: Qwen2Config): LoraBaseShape {
  return { numLayers: c.numLayers, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, qDim: c.numHeads * c.headDim, kvDim: c.numKvHeads * c.headDim };
}

export interface SaveAdapterMeta {
  name: string;
  base: BaseModelRef;
  trainingConfig?: Record<string, unknown>;
  step?: number;
  metricSummary?: Record<string, number>;
  /** write a new version of this stored adapter instead of a new one */
  id?: string;
}

/** Saves the adapter's tensors (GPU → host → IndexedDB); returns the committed record. */
export async function saveAdapterToStore(ctx: GpuContext, storage: Storage, adapter: LoraAdapter, meta: SaveAdapterMeta): Promise<AdapterMeta> {
  const tensors = await readLoraTensors(ctx, adapter);
  const fields: AdapterFields = {
    name: meta.name, baseModelId: meta.base.modelId, baseWeightsHash: meta.base.weightsHash,
    r: adapter.r, alpha: adapter.alpha, targetModules: [...adapter.targets],
    trainingConfig: meta.trainingConfig ?? {}, step: meta.step ?? 0, metricSummary: meta.metricSummary ?? {},
  };
  return meta.id ? storage.updateAdapter(meta.id, tensors, fields) : storage.saveAdapter(fields, tensors);
}

/** A stored adapter as PEFT settings + tensors (views, no copies), validated like a file (pure). */
export function storedAsPeft(loaded: LoadedAdapter): { settings: PeftSettings; tensors: Map<string, PeftTensor>; layout: PeftLayout } {
  const m = loaded.meta;
  const settings = parsePeftConfig({ peft_type: 'LORA', r: m.r, lora_alpha: m.alpha, target_modules: m.targetModules, base_model_name_or_path: m.baseModelId || null });
  const tensors = new Map<string, PeftTensor>();
  for (const e of m.tensors) {
    const data = loaded.tensors.get(e.name)!;
    tensors.set(e.name, { dtype: 'F32', shape: e.shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
  }
  return { settings, tensors, layout: inspectPeftTensors(settings, tensors) };
}

/** Throws LoraError when a stored adapter was made for another base (shapes, or a known weights hash). */
export function checkStoredAgainstBase(meta: AdapterMeta, layout: PeftLayout, base: BaseModelRef, opts: { allowOtherWeights?: boolean } = {}): string[] {
  const name = `adapter '${meta.name}'`;
  try {
    checkLayoutAgainstBase(layout, base.shape, meta.baseModelId);
  } catch (e) {
    if (e instanceof LoraError) throw new LoraError(`${name} does not fit ${base.modelId}: ${e.message}`, e.hint);
    throw e;
  }
  const warnings: string[] = [];
  if (meta.baseWeightsHash && base.weightsHash && meta.baseWeightsHash !== base.weightsHash) {
    const msg = `${name} was trained on ${meta.baseModelId} (weights ${meta.baseWeightsHash}), the loaded model is ${base.modelId} (weights ${base.weightsHash})`;
    if (!opts.allowOtherWeights) throw new LoraError(msg, `load ${meta.baseModelId} first; an adapter on other weights of the same shape loads but its outputs are not what it learned`);
    warnings.push(msg);
  } else if (meta.baseModelId && meta.baseModelId !== base.modelId) {
    warnings.push(`${name} was trained on ${meta.baseModelId}; the loaded model is ${base.modelId} (same shapes)`);
  }
  return warnings;
}

/** Loads a stored adapter onto the GPU after checking it fits the base model. */
export async function loadAdapterFromStore(
  ctx: GpuContext, storage: Storage, id: string, base: BaseModelRef, opts: { allowOtherWeights?: boolean } = {},
): Promise<{ adapter: LoraAdapter; meta: AdapterMeta; warnings: string[] }> {
  const loaded = await storage.loadAdapter(id);
  const { settings, tensors, layout } = storedAsPeft(loaded);
  const warnings = checkStoredAgainstBase(loaded.meta, layout, base, opts);
  return { adapter: importPeft(ctx, base.shape, settings, tensors), meta: loaded.meta, warnings };
}
