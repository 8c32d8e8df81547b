// The UI's side of the worker protocol: owns the engine Worker, sends commands with fresh ids and
// resolves each request with the event that answers it (errors reject with the typed info); the
// other events of that id (progress, tokens) go to the request's onEvent as they arrive.
import type { Command, Event } from '../worker/protocol';
import type { ErrorInfo } from '../gpu/errors';

type Answer<T extends Event['type']> = Extract<Event, { type: T }>;
type CommandBody = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

export class WorkerError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
    this.name = info.name;
  }
  get hint(): string {
    return this.info.hint;
  }
}

export class WorkerClient {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, { answer: Event['type']; resolve: (e: Event) => void; reject: (e: WorkerError) => void; onEvent?: (e: Event) => void }>();
  private listeners = new Set<(e: Event) => void>();

  constructor() {
    this.worker = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'tabzero-engine' });
    this.worker.onmessage = (ev: MessageEvent<Event>) => this.dispatch(ev.data);
    this.worker.onerror = (ev) => {
      const err = new WorkerError({ name: 'WorkerCrashed', message: ev.message || 'the engine worker failed to start', hint: 'reload the page; if it persists, check the browser console' });
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  /**
   * Sends a command and resolves with the first event of type `answer` carrying its id (rejects on
   * an error event with that id); earlier events with that id (streams) go to `onEvent`.
   */
  request<T extends Event['type']>(cmd: CommandBody, answer: T, onEvent?: (e: Event) => void): Promise<Answer<T>> {
    const id = this.nextId++;
    return new Promise<Answer<T>>((resolve, reject) => {
      this.pending.set(id, { answer, resolve: (e) => resolve(e as Answer<T>), reject, onEvent });
      this.worker.postMessage({ ...cmd, id } as Command);
    });
  }

  /** Every event, for streams (progress, metrics, samples). Returns an unsubscribe function. */
  subscribe(fn: (e: Event) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  terminate(): void {
    this.worker.terminate();
  }

  private dispatch(e: Event): void {
    for (const fn of this.listeners) fn(e);
    const id = 'id' in e ? e.id : null;
    if (id === null) return;
    const p = this.pending.get(id);
    if (!p) return;
    if (e.type !== 'error' && e.type !== p.answer) {
      p.onEvent?.(e);
      return;
    }
    this.pending.delete(id);
    if (e.type === 'error') p.reject(new WorkerError(e.error));
    else p.resolve(e);
  }
}
