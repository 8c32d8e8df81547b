// The code that runs inside the reward sandbox's own worker. `sandboxRuntime` is self-contained (no
// imports, no outer references): sandbox.ts ships its source text as a Blob worker, and tests run it
// in a Node worker thread. Before any user code runs it keeps private references to what it needs,
// then removes network, storage and messaging from the worker's globals.
// User code is `(completion, sample) => number`; see sandbox.ts for the contract.

/** parent → sandbox: score `calls` ([function index, completion index]) in order */
export interface SandboxRun {
  type: 'run';
  run: number;
  fns: { name: string; code: string }[];
  completions: string[];
  samples: unknown[];
  calls: [number, number][];
}

/** sandbox → parent: 'ready' once the functions compiled, then one 'result' per call in order */
export type SandboxReply =
  | { type: 'ready'; run: number }
  | { type: 'result'; run: number; k: number; score?: number; error?: string };

/** What the runtime needs of its global scope: a way to reply and to receive. */
export interface SandboxScope {
  postMessage(msg: SandboxReply): void;
  addEventListener(type: 'message', fn: (ev: { data: SandboxRun }) => void): void;
}

/** Runs in the sandbox worker; `scope` is the worker's global scope (or a stand-in in tests). */
export function sandboxRuntime(scope: SandboxScope): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const post = scope.postMessage.bind(scope);
  const realEval = g.eval as (src: string) => unknown;
  const clone = g.structuredClone as (<T>(v: T) => T) | undefined;
  const hasOwn = Object.prototype.hasOwnProperty;
  // network, storage, other workers, messaging, closing
  const blockedGlobals = [
    'fetch', 'XMLHttpRequest', 'WebSocket', 'WebSocketStream', 'WebTransport', 'EventSource', 'importScripts',
    'indexedDB', 'caches', 'BroadcastChannel', 'Worker', 'SharedWorker', 'FontFace', 'fonts', 'postMessage', 'close',
    'requestFileSystem', 'webkitRequestFileSystem', 'webkitResolveLocalFileSystemURL', 'RTCPeerConnection', 'RTCDataChannel',
  ];
  const blockedNavigator = ['storage', 'locks', 'serviceWorker', 'gpu', 'usb', 'hid', 'serial', 'sendBeacon', 'permissions'];

  // 1. remove each name from the object and its prototypes, then pin a getter that throws
  const block = (obj: object, name: string, label: string): void => {
    for (let o: object | null = obj; o; o = Object.getPrototypeOf(o) as object | null) {
      if (hasOwn.call(o, name)) { try { delete (o as Record<string, unknown>)[name]; } catch { /* non-configurable: shadowed below */ } }
    }
    const fail = (): never => { throw new Error(`${label} is not available to reward functions (the sandbox has no network and no storage)`); };
    try { Object.defineProperty(obj, name, { get: fail, set: fail, configurable: false }); } catch { /* already pinned */ }
  };
  for (const name of blockedGlobals) block(g, name, name);
  const nav = g.navigator as object | undefined;
  if (nav) for (const name of blockedNavigator) block(nav, name, `navigator.${name}`);

  // 2. dynamic import() cannot be deleted: refuse any code text that mentions `import`
  const checkSource = (src: string): void => {
    if (/\bimport\b/.test(src)) throw new Error('`import` is not allowed in reward functions (the sandbox has no network); write a string containing it as "imp" + "ort"');
  };
  const guardEval = function (src: unknown): unknown {
    if (typeof src === 'string') checkSource(src);
    return realEval(src as string);
  };
  Object.defineProperty(g, 'eval', { value: guardEval, writable: false, configurable: false });
  const guardCtor = (Ctor: (...a: string[]) => unknown): ((...a: string[]) => unknown) => {
    const Guarded = function (...args: string[]): unknown {
      checkSource(args.map(String).join('\n'));
      return Ctor(...args);
    };
    Guarded.prototype = Ctor.prototype;
    Object.defineProperty(Ctor.prototype, 'constructor', { value: Guarded, writable: false, configurable: false });
    return Guarded;
  };
  const protos = [function () {}, async function () {}, function* () {}, async function* () {}].map((f) => Object.getPrototypeOf(f) as { constructor: (...a: string[]) => unknown });
  const guardedFunction = guardCtor(protos[0].constructor);
  for (const p of protos.slice(1)) guardCtor(p.constructor);
  Object.defineProperty(g, 'Function', { value: guardedFunction, writable: false, configurable: false });
  for (const timer of ['setTimeout', 'setInterval']) {
    const real = g[timer] as ((fn: unknown, ...rest: unknown[]) => unknown) | undefined;
    if (typeof real !== 'function') continue;
    Object.defineProperty(g, timer, {
      value: (fn: unknown, ...rest: unknown[]) => {
        if (typeof fn !== 'function') throw new Error(`${timer} takes a function in reward functions, not code text`);
        return real.call(g, fn, ...rest);
      },
      writable: false, configurable: false,
    });
  }

  // 3. compile (cached by source) and call, one reply per call
  const compiled = new Map<string, { fn?: (c: string, s: unknown) => unknown; error?: string }>();
  const describe = (e: unknown): string => {
    try {
      return e instanceof Error ? `${e.name}: ${e.message}` : `threw ${String(e)}`;
    } catch {
      return 'threw a value that cannot be shown';
    }
  };
  const compile = (code: string): { fn?: (c: string, s: unknown) => unknown; error?: string } => {
    let hit = compiled.get(code);
    if (hit) return hit;
    try {
      const body = code.trim().replace(/;+\s*$/, '');
      checkSource(body);
      const f = realEval(`"use strict";(${body}\n)`);
      if (typeof f !== 'function') throw new TypeError(`the code is a ${typeof f}, not a function: write (completion, sample) => number`);
      hit = { fn: f as (c: string, s: unknown) => unknown };
    } catch (e) {
      hit = { error: `compile error: ${describe(e)}` };
    }
    compiled.set(code, hit);
    return hit;
  };
  scope.addEventListener('message', (ev) => {
    const m = ev.data;
    if (!m || m.type !== 'run') return;
    const fns = m.fns.map((f) => compile(f.code));
    post({ type: 'ready', run: m.run });
    m.calls.forEach(([fi, ci], k) => {
      const c = fns[fi];
      if (!c.fn) { post({ type: 'result', run: m.run, k, error: c.error }); return; }
      let v: unknown;
      try {
        const sample = clone ? clone(m.samples[ci]) : m.samples[ci];
        v = c.fn(m.completions[ci], sample);
      } catch (e) {
        post({ type: 'result', run: m.run, k, error: describe(e) });
        return;
      }
      if (typeof v === 'boolean') v = v ? 1 : 0;
      if (typeof v === 'number' && Number.isFinite(v)) post({ type: 'result', run: m.run, k, score: v });
      else if (v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function') post({ type: 'result', run: m.run, k, error: 'returned a Promise: reward functions must be synchronous' });
      else post({ type: 'result', run: m.run, k, error: `returned ${typeof v === 'number' ? String(v) : typeof v}, not a finite number` });
    });
  });
}
