// The one typed message protocol between the UI (main thread) and the engine worker that owns the
// GPU. Commands go UI → worker, events worker → UI; each is a union keyed by `type`. Every
// command carries an `id`; the events that answer it echo that id. Errors cross as {name, message, hint}.
import type { ErrorInfo } from '../gpu/errors';

export interface GpuInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallback: boolean };
  features: { f16: boolean; subgroups: boolean; timestamp: boolean; subgroupMatrix: boolean };
  limits: Record<string, number>;
  /** a tiny kernel ran and matched its CPU reference */
  selfTest: { ok: boolean; relError: number; ms: number };
}

export type Command =
  | { type: 'probe'; id: number };

export type Event =
  | { type: 'gpu-info'; id: number; info: GpuInfo }
  | { type: 'error'; id: number | null; error: ErrorInfo };

export type CommandType = Command['type'];
