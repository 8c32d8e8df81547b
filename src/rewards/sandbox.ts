// Custom reward functions, sandboxed: each batch is scored in a dedicated Worker made from a Blob
// (no DOM, no app state; network, storage and postMessage removed before user code runs — see
// sandbox-runtime.ts), under a hard time limit per call and per batch. A call that overruns is
// scored 0 with 'timed out after N ms', the worker is terminated and a fresh one scores the rest.
//
// The contract of a custom reward function (its `code` is JS source of one function expression):
//   (completion: string, sample: RewardSample) => number
//   completion: the decoded completion text (special tokens removed)
//   sample: {kind: 'countdown', nums: number[], target: number}
//         | {kind: 'qa', question: string, answer: string, mode: 'auto' | 'exact' | 'numeric'}
//   return a finite number (true/false count as 1/0). Synchronous; a fresh copy of `sample` per call.
//   A throw, a non-finite or non-number result, or a Promise scores 0 and reports the error.
//   No fetch/XMLHttpRequest/WebSocket/importScripts/indexedDB/caches/…; the word `import` is refused.
import type { CustomScorer, RewardSample } from '../grpo/rewards';
import { sandboxRuntime, type SandboxReply, type SandboxRun } from './sandbox-runtime';

export type { SandboxReply, SandboxRun };

export interface SandboxLimits {
  /** longest one call may run (ms) */
  callMs: number;
  /** longest a whole batch may take, restarts included (ms) */
  batchMs: number;
  /** longest the worker may take to start and compile the functions (ms) */
  startMs: number;
}

export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({ callMs: 50, batchMs: 2000, startMs: 3000 });

/** A running sandbox worker, as the scorer drives it. */
export interface SandboxWorker {
  post(msg: SandboxRun): void;
  terminate(): void;
}

/** Starts a sandbox worker that reports replies and (startup) failures. */
export type SpawnSandbox = (onReply: (m: SandboxReply) => void, onFailure: (message: string) => void) => SandboxWorker;

export type CallResult = { score: number } | { error: string };

/** The worker's script: the runtime's own source, called on the worker's global scope. */
export function sandboxScript(): string {
  return `"use strict";(${sandboxRuntime.toString()})(self);\n`;
}

let blobUrl: string | null = null;

/** A browser Worker from a Blob URL of sandboxScript() (classic, so it shares no module graph). */
export const browserSandbox: SpawnSandbox = (onReply, onFailure) => {
  blobUrl ??= URL.createObjectURL(new Blob([sandboxScript()], { type: 'text/javascript' }));
  const w = new Worker(blobUrl, { name: 'tabzero-reward-sandbox' });
  w.onmessage = (ev: MessageEvent<SandboxReply>) => onReply(ev.data);
  w.onerror = (ev: ErrorEvent) => {
    ev.preventDefault();
    onFailure(ev.message || 'the reward sandbox worker failed');
  };
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
};

interface Attempt {
  /** calls finished, in order */
  results: CallResult[];
  end: 'done' | 'call-timeout' | 'batch-timeout' | 'start-timeout' | 'failed';
  failure?: string;
}

export class SandboxScorer implements CustomScorer {
  private worker: SandboxWorker | null = null;
  private listener: ((m: SandboxReply) => void) | null = null;
  private failed: ((message: string) => void) | null = null;
  private runs = 0;
  private queue: Promise<unknown> = Promise.resolve();
  readonly limits: SandboxLimits;
  /** workers started so far (the first, plus one per timeout) */
  spawned = 0;

  constructor(private spawn: SpawnSandbox = browserSandbox, limits: Partial<SandboxLimits> = {}) {
    this.limits = { ...DEFAULT_SANDBOX_LIMITS, ...limits };
  }

  /** Scores every completion with every function; one batch at a time. */
  score(fns: { name: string; code: string }[], completions: string[], samples: RewardSample[]): Promise<Record<string, CallResult[]>> {
    const next = this.queue.then(() => this.scoreBatch(fns, completions, samples));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Terminates the worker (a later score() starts a new one). */
  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private async scoreBatch(fns: { name: string; code: string }[], completions: string[], samples: RewardSample[]): Promise<Record<string, CallResult[]>> {
    const out: Record<string, CallResult[]> = {};
    for (const f of fns) out[f.name] = completions.map(() => ({ error: 'not scored' }));
    let pending: [number, number][] = fns.flatMap((_, fi) => completions.map((_, ci): [number, number] => [fi, ci]));
    const set = ([fi, ci]: [number, number], r: CallResult) => { out[fns[fi].name][ci] = r; };
    const t0 = performance.now();
    while (pending.length) {
      const left = this.limits.batchMs - (performance.now() - t0);
      const a = left > 0 ? await this.attempt(fns, completions, samples, pending, left) : { results: [], end: 'batch-timeout' as const };
      a.results.forEach((r, k) => set(pending[k], r));
      const rest = pending.slice(a.results.length);
      if (a.end === 'done') break;
      this.dispose();
      if (a.end === 'call-timeout') {
        set(rest[0], { error: `timed out after ${this.limits.callMs} ms` });
        pending = rest.slice(1);
        continue;
      }
      const error = a.end === 'batch-timeout' ? `timed out after ${this.limits.batchMs} ms (the batch's time limit)`
        : a.end === 'start-timeout' ? `timed out after ${this.limits.startMs} ms while the sandbox started and compiled the functions`
          : `the reward sandbox failed: ${a.failure}`;
      for (const c of rest) set(c, { error });
      break;
    }
    return out;
  }

  /** One run of `calls` on the current (or a new) worker, until done, a timeout or a failure. */
  private attempt(fns: { name: string; code: string }[], completions: string[], samples: RewardSample[], calls: [number, number][], left: number): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      const run = ++this.runs;
      const results: CallResult[] = [];
      let ready = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (end: Attempt['end'], failure?: string) => {
        clearTimeout(timer);
        clearTimeout(batch);
        this.listener = null;
        this.failed = null;
        resolve({ results, end, failure });
      };
      const arm = () => {
        clearTimeout(timer);
        timer = ready ? setTimeout(() => finish('call-timeout'), this.limits.callMs) : setTimeout(() => finish('start-timeout'), this.limits.startMs);
      };
      const batch = setTimeout(() => finish('batch-timeout'), left);
      this.listener = (m) => {
        if (m.run !== run) return;
        if (m.type === 'ready') ready = true;
        else if (m.k === results.length) results.push(m.error !== undefined || typeof m.score !== 'number' ? { error: m.error ?? 'no score' } : { score: m.score });
        if (results.length === calls.length) finish('done');
        else arm();
      };
      // after start-up, errors of the worker's own (e.g. a user's timer callback threw) are not fatal
      this.failed = (message) => { if (!ready) finish('failed', message); };
      try {
        this.ensureWorker().post({ type: 'run', run, fns, completions, samples, calls });
      } catch (e) {
        finish('failed', e instanceof Error ? e.message : String(e));
        return;
      }
      arm();
    });
  }

  private ensureWorker(): SandboxWorker {
    if (!this.worker) {
      this.worker = this.spawn((m) => this.listener?.(m), (msg) => this.failed?.(msg));
      this.spawned++;
    }
    return this.worker;
  }
}
