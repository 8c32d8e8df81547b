// The engine worker's state, shared by its command handlers (model-host, training-host, adapter-host):
// the GPU device, the loaded model, the active LoRA adapter, the long job running now, and post().
// One per worker; tests build one around a Node device with createWorkerContext.
import type { GpuContext } from '../gpu/device';
import type { Qwen2Config } from '../model/config';
import type { ModelWeights } from '../model/weights';
import type { TabTokenizer } from '../model/tokenizer';
import type { Engine } from '../model/engine';
import type { LoraAdapter } from '../lora/adapter';
import type { Event, ModelSummary } from './protocol';

/** A model on the GPU, ready to generate. */
export interface LoadedModel {
  /** repo id or folder name (PEFT's base_model_name_or_path on export) */
  name: string;
  config: Qwen2Config;
  weights: ModelWeights;
  tokenizer: TabTokenizer;
  /** forward pass sized for chat: maxTokens per call, maxPositions per sequence (engine.opts) */
  engine: Engine;
  /** ids that end a completion: the tokenizer's eos, config.json's and generation_config.json's */
  eosIds: number[];
  summary: ModelSummary;
}

/** The long job holding the GPU; handlers refuse conflicting commands while one runs. */
export type Job =
  | { kind: 'loading'; id: number; abort: AbortController }
  | { kind: 'generating'; id: number; stop: boolean }
  | { kind: 'training'; id: number };

export interface WorkerContext {
  /** the worker's GPU device: acquired on first call, the same one after (a lost device is replaced) */
  device(): Promise<GpuContext>;
  /** the device once acquired, else null */
  gpu: GpuContext | null;
  model: LoadedModel | null;
  /** the adapter applied when a command asks for it (generate with adapter: true, training) */
  lora: LoraAdapter | null;
  /** its display name, null when there is none */
  loraName: string | null;
  job: Job | null;
  /** sends an event to the UI; ArrayBuffers in `transfer` move instead of being copied */
  post(ev: Event, transfer?: Transferable[]): void;
}

/** A context whose device comes from `acquire` (browserGpu in the worker, nodeGpu in tests). */
export function createWorkerContext(post: WorkerContext['post'], acquire: () => Promise<GpuContext>): WorkerContext {
  let pending: Promise<GpuContext> | null = null;
  const ctx: WorkerContext = {
    gpu: null,
    model: null,
    lora: null,
    loraName: null,
    job: null,
    post,
    device() {
      pending ??= acquire().then(
        (g) => {
          ctx.gpu = g;
          g.lost.then((e) => {
            if (ctx.gpu !== g) return;
            // everything on the lost (or destroyed) device is gone; the next command acquires a new one
            Object.assign(ctx, { gpu: null, model: null, lora: null, loraName: null });
            pending = null;
            if (e.reason !== 'destroyed') post({ type: 'error', id: null, error: { name: e.name, message: e.message, hint: e.hint } });
          });
          return g;
        },
        (e: unknown) => {
          pending = null; // let a later command try again
          throw e;
        },
      );
      return pending;
    },
  };
  return ctx;
}
