// Training runs in IndexedDB, seen from the worker: SessionCheckpoint ⇄ the storage schema (AdamW
// moments are kept per fused GPU buffer; storage wants them per PEFT tensor, so they are sliced like
// the adapter and reassembled at load — untargeted slices are exactly zero), the run record (config,
// status, metric rows, recent samples) and the trained adapter saved to the library at the end.
import type { CheckpointInput, LoadedCheckpoint } from '../storage/checkpoints';
import type { CheckpointMeta, JsonValue, RunStatus, RunSummary, SampleRecord } from '../storage/schema';
import type { Storage } from '../storage/store';
import { fusedShapes, targetRows, type LoraBaseShape } from '../lora/adapter';
import { TARGET_SLOT, type LoraTarget } from '../lora/targets';
import type { SessionCheckpoint, SessionSpec } from '../grpo/session';
import type { PromptState } from '../grpo/tasks';
import { TabZeroError } from '../gpu/errors';

const PEFT_RE = /layers\.(\d+)\.\w+\.(\w+_proj)\.lora_([AB])\.weight$/;

/** Where a PEFT tensor lives in the optimizer's fused buffers: key prefix, offset and length in floats. */
function fusedSlot(key: string, base: LoraBaseShape, r: number): { fusedKey: string; offset: number; length: number; fusedLength: number } {
  const m = PEFT_RE.exec(key);
  if (!m || !(m[2] in TARGET_SLOT)) throw new TabZeroError(`checkpoint tensor ${key} is not a LoRA tensor`, 'the checkpoint is damaged or from another program; start the run again');
  const tr = targetRows(base, m[2] as LoraTarget);
  const f = fusedShapes(base)[tr.fused];
  const fusedKey = `layers.${m[1]}.${tr.fused}.${m[3]}`;
  return m[3] === 'A'
    ? { fusedKey, offset: tr.slice * r * tr.in, length: r * tr.in, fusedLength: f.starts.length * r * f.K }
    : { fusedKey, offset: tr.row0 * r, length: tr.out * r, fusedLength: f.N * r };
}

/** What a checkpoint's `config` field holds. */
export interface StoredSpec {
  trainConfig: SessionSpec['config'];
  task: SessionSpec['task'];
  rewards: SessionSpec['rewards'];
  model: string;
}

/** SessionCheckpoint → storage input: moments sliced per PEFT tensor (views, no copies). */
export function toCheckpointInput(c: SessionCheckpoint, base: LoraBaseShape, model: string): CheckpointInput {
  const r = c.spec.config.loraR;
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const key of c.adapter.keys()) {
    const s = fusedSlot(key, base, r);
    for (const [which, out] of [['m', m], ['v', v]] as const) {
      const full = c.optimizer.tensors.get(`${s.fusedKey}.${which}`);
      if (!full || full.length !== s.fusedLength) throw new TabZeroError(`optimizer state ${s.fusedKey}.${which} is ${full ? `${full.length} floats` : 'missing'}, expected ${s.fusedLength}`, 'this is a TabZero bug; the run continues without this checkpoint');
      out.set(key, full.subarray(s.offset, s.offset + s.length));
    }
  }
  const stored: StoredSpec = { trainConfig: c.spec.config, task: c.spec.task, rewards: c.spec.rewards, model };
  return { step: c.step, adapter: c.adapter, optimizer: { step: c.optimizer.step, m, v }, rng: c.rng as unknown as JsonValue, config: stored as unknown as Record<string, unknown>, metrics: c.metrics };
}

/** A stored checkpoint → SessionCheckpoint: moments reassembled into zeroed fused buffers. */
export function fromLoadedCheckpoint(l: LoadedCheckpoint, base: LoraBaseShape): { ckpt: SessionCheckpoint; model: string } {
  const stored = l.meta.config as unknown as StoredSpec;
  if (!stored?.trainConfig || !stored.task || !Array.isArray(stored.rewards)) {
    throw new TabZeroError(`checkpoint of run '${l.meta.runId}' at step ${l.meta.step} has no training spec`, 'it was saved by another version of TabZero; start a new run');
  }
  const r = stored.trainConfig.loraR;
  const shapes = new Map(l.meta.tensors.filter((t) => t.role === 'adapter').map((t) => [t.name, t.shape]));
  const adapter = new Map([...l.adapter].map(([k, data]) => [k, { data, shape: shapes.get(k) ?? [data.length] }]));
  const tensors = new Map<string, Float32Array>();
  for (const key of l.adapter.keys()) {
    const s = fusedSlot(key, base, r);
    for (const which of ['m', 'v'] as const) {
      const part = (which === 'm' ? l.optimizer.m : l.optimizer.v).get(key);
      if (!part || part.length !== s.length) throw new TabZeroError(`checkpoint optimizer ${which} of ${key} has ${part?.length ?? 'no'} values, expected ${s.length}`, 'the checkpoint does not fit the loaded model; load the model the run was trained on');
      const k = `${s.fusedKey}.${which}`;
      let full = tensors.get(k);
      if (!full) tensors.set(k, (full = new Float32Array(s.fusedLength)));
      full.set(part, s.offset);
    }
  }
  const spec: SessionSpec = { config: stored.trainConfig, task: stored.task, rewards: stored.rewards };
  return {
    ckpt: { step: l.meta.step, adapter, optimizer: { step: l.optimizer.step, tensors }, rng: l.meta.rng as unknown as PromptState, spec, metrics: l.meta.metrics },
    model: stored.model,
  };
}

/** The run record's config: the spec without a dataset's text (that lives in checkpoints). */
export function runConfig(spec: SessionSpec, model: string): Record<string, unknown> {
  const task = spec.task.kind === 'dataset' ? { ...spec.task, jsonl: `(${spec.task.jsonl.length} characters; kept in checkpoints)` } : spec.task;
  return { trainConfig: spec.config, task, rewards: spec.rewards, model, totalSteps: spec.config.totalSteps };
}

export function runName(spec: SessionSpec, model: string): string {
  const task = spec.task.kind === 'countdown' ? 'Countdown' : spec.task.name;
  return `GRPO ${task} · ${model}${spec.startFrom ? ` (from ${spec.startFrom})` : ''}`.slice(0, 200);
}

/** Storage calls of a run; failures become warnings (the caller posts them) and never stop training. */
export class RunStore {
  constructor(private storage: () => Promise<Storage>, private warn: (what: string, e: unknown) => void) {}

  get(): Promise<Storage> {
    return this.storage();
  }

  private async safe<T>(what: string, fn: (s: Storage) => Promise<T>): Promise<T | null> {
    try {
      return await fn(await this.storage());
    } catch (e) {
      this.warn(what, e);
      return null;
    }
  }

  createRun(id: string, spec: SessionSpec, model: string): Promise<RunSummary | null> {
    return this.safe('creating the run record', (s) => s.saveRun({ id, name: runName(spec, model), adapterId: null, config: runConfig(spec, model), status: 'running' }));
  }

  setStatus(id: string, status: RunStatus, extra: { spec?: SessionSpec; model?: string; adapterId?: string } = {}): Promise<RunSummary | null> {
    const patch = { status, ...(extra.spec && extra.model ? { config: runConfig(extra.spec, extra.model) } : {}), ...(extra.adapterId ? { adapterId: extra.adapterId } : {}) };
    return this.safe(`marking the run ${status}`, (s) => s.updateRun(id, patch));
  }

  appendStep(id: string, row: Record<string, number>, samples: SampleRecord[]): Promise<RunSummary | null> {
    return this.safe(`saving the metrics of step ${row.step}`, (s) => s.appendRunMetrics(id, [row], samples));
  }

  saveCheckpoint(id: string, c: SessionCheckpoint, base: LoraBaseShape, model: string): Promise<CheckpointMeta | null> {
    return this.safe(`saving the checkpoint at step ${c.step}`, (s) => s.saveCheckpoint(id, toCheckpointInput(c, base, model)));
  }
}
