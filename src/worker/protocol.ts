// The one typed message protocol between the UI (main thread) and the engine worker that owns the
// GPU. Commands go UI → worker, events worker → UI; each is a union keyed by `type`, handled with a
// `switch` and a `never` default. Every command carries an `id`; the events that answer it echo
// that id (streams — progress, tokens, metrics — too). Errors cross as {name, message, hint}.
// Tensors never cross as objects: bytes go as transferred ArrayBuffers.
import type { ErrorInfo } from '../gpu/errors';
import type { TrainConfig } from '../grpo/config';
import type { RewardSpec } from '../grpo/rewards';
import type { TaskSpec } from '../grpo/tasks';

export interface GpuInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean };
  features: { f16: boolean; subgroups: boolean; timestamp: boolean; subgroupMatrix: boolean };
  /** why the decode matmuls cannot run on subgroup matrices (tensor cores) here; '' where they do (src/kernels/matmul_mma.ts mmaSupport) */
  tensorCores: string;
  limits: Record<string, number>;
  /** a tiny kernel ran and matched its CPU reference */
  selfTest: { ok: boolean; relError: number; ms: number };
}

/** Where model files come from. */
export type ModelSourceSpec =
  | { kind: 'hub'; repo: string; revision?: string; endpoint?: string; token?: string }
  /** a local folder (config.json, *.safetensors, tokenizer files) picked or dropped in the browser; `name` shown for it (default: the folder of the files' webkitRelativePath) */
  | { kind: 'files'; files: File[]; name?: string };

export interface ModelSummary {
  /** repo id or folder name */
  name: string;
  numLayers: number;
  hiddenSize: number;
  vocabSize: number;
  parameters: number;
  linearFormat: 'q4' | 'bf16';
  embedFormat: 'bf16' | 'i8';
  /** GPU bytes held by the weights */
  gpuBytes: number;
  /** from a bitsandbytes checkpoint (loaded as is) or quantized at load */
  quantizedFrom: 'bnb-nf4' | 'bf16' | 'f16' | 'f32';
  hasChatTemplate: boolean;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface SamplingSpec {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
  maxNewTokens: number;
}

export type { TaskSpec };

export type { RewardSpec };

export interface SampleView {
  step: number;
  prompt: string;
  completion: string;
  rewards: Record<string, number>;
  total: number;
  /** reward errors (a custom function threw, returned NaN or timed out) */
  errors?: Record<string, string>;
}

export type TrainingState = 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped' | 'finished' | 'failed';

export type Command =
  | { type: 'probe'; id: number }
  | { type: 'load-model'; id: number; source: ModelSourceSpec; linearFormat: 'q4' | 'bf16'; embedFormat: 'bf16' | 'i8' }
  | { type: 'cancel-load'; id: number }
  | { type: 'unload-model'; id: number }
  /** chat or raw prompt; `adapter` picks the active adapter (true) or the base model (false) */
  | { type: 'generate'; id: number; messages: ChatMessage[]; sampling: SamplingSpec; adapter: boolean }
  | { type: 'stop-generate'; id: number }
  /** a new run (fresh adapter, or with `fromActiveAdapter` the active one's weights, r, alpha and targets), or with `runId` a stored run */
  | { type: 'start-training'; id: number; config: TrainConfig; task: TaskSpec; rewards: RewardSpec[]; runId?: string; fromActiveAdapter?: boolean }
  | { type: 'pause'; id: number }
  | { type: 'resume'; id: number; runId?: string }
  | { type: 'stop'; id: number }
  | { type: 'update-rewards'; id: number; rewards: RewardSpec[] }
  /** PEFT files of the active adapter */
  | { type: 'export-adapter'; id: number }
  /** make a stored or uploaded PEFT adapter the active one */
  | { type: 'import-adapter'; id: number; config: unknown; safetensors: ArrayBuffer; name: string }
  | { type: 'load-stored-adapter'; id: number; adapterId: string }
  | { type: 'clear-adapter'; id: number };

export type Event =
  | { type: 'gpu-info'; id: number; info: GpuInfo }
  | { type: 'error'; id: number | null; error: ErrorInfo }
  | { type: 'ok'; id: number }
  | { type: 'load-progress'; id: number; phase: 'download' | 'weights' | 'tokenizer'; bytesDone: number; bytesTotal: number; file?: string }
  | { type: 'model-loaded'; id: number; summary: ModelSummary }
  | { type: 'token'; id: number; text: string }
  | { type: 'generate-done'; id: number; tokens: number; seconds: number; finished: boolean }
  /** a run's state changed; `error` says why it failed (with a hint), `totalSteps` is the run's length */
  | { type: 'training-state'; id: number; state: TrainingState; runId: string | null; step: number; message?: string; totalSteps?: number; error?: ErrorInfo }
  /** a run was (re)opened from a checkpoint: its metric rows up to `step` replace what the UI shows */
  | { type: 'run-history'; id: number; runId: string; step: number; totalSteps: number; metrics: Record<string, number>[] }
  | { type: 'step-metrics'; id: number; runId: string; step: number; metrics: Record<string, number> }
  | { type: 'samples'; id: number; runId: string; step: number; samples: SampleView[] }
  | { type: 'checkpoint-saved'; id: number; runId: string; step: number; bytes: number }
  | { type: 'adapter-exported'; id: number; config: Record<string, unknown>; safetensors: ArrayBuffer; warnings: string[] }
  /** `warnings`: e.g. a stored adapter trained on other weights of the same shape (it loads; outputs may differ) */
  | { type: 'adapter-active'; id: number; name: string | null; r: number; alpha: number; targets: string[]; warnings?: string[] };

export type CommandType = Command['type'];
