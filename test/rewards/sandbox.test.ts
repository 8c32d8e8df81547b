// The reward sandbox's core in Node: the real runtime (sandbox-runtime.ts, as source text) in a Node
// worker thread standing in for the browser's Blob worker, driven by SandboxScorer: scores, throws,
// NaN / non-numbers / Promises, compile errors, an infinite loop (timed out, the worker replaced, the
// other completions still scored), the batch limit, `import` refused, network/storage globals removed,
// functions changing between batches; and a fake worker that never starts (start timeout).
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { SandboxScorer, sandboxScript, type SpawnSandbox } from '../../src/rewards/sandbox';
import { sandboxRuntime } from '../../src/rewards/sandbox-runtime';
import type { RewardSample } from '../../src/grpo/rewards';

/** The runtime in a worker thread; `self` is a stand-in scope over parentPort. */
export const nodeSandbox: SpawnSandbox = (onReply, onFailure) => {
  const src = `const { parentPort } = require('node:worker_threads');
const scope = { postMessage: (m) => parentPort.postMessage(m), addEventListener: (t, f) => parentPort.on('message', (data) => f({ data })) };
(${sandboxRuntime.toString()})(scope);`;
  const w = new Worker(src, { eval: true });
  w.on('message', onReply);
  w.on('error', (e) => onFailure(e.message));
  return { post: (m) => w.postMessage(m), terminate: () => void w.terminate() };
};

const samples: RewardSample[] = [
  { kind: 'countdown', nums: [1, 2, 3], target: 6 },
  { kind: 'countdown', nums: [4, 5], target: 9 },
  { kind: 'qa', question: 'q?', answer: '42', mode: 'auto' },
];
const completions = ['abc', 'hello world', 'x'];

let scorer: SandboxScorer | null = null;
afterEach(() => scorer?.dispose());

describe('reward sandbox (Node worker thread)', () => {
  it('the script is self-contained source', () => {
    expect(sandboxScript()).toMatch(/^"use strict";\(function/);
    expect(sandboxScript()).not.toMatch(/__vite|__name\(/);
  });

  it('scores, and reports throws, NaN, non-numbers, Promises and compile errors as errors', async () => {
    scorer = new SandboxScorer(nodeSandbox, { callMs: 1000 });
    const r = await scorer.score([
      { name: 'len', code: '(c, s) => c.length / 10' },
      { name: 'target', code: 'function (c, s) { return s.kind === "countdown" ? s.target : -1; };' },
      { name: 'throws', code: '(c) => { if (c === "x") throw new TypeError("no x"); return 1; }' },
      { name: 'nan', code: '(c) => c === "abc" ? NaN : c === "x" ? "1" : Promise.resolve(1)' },
      { name: 'bool', code: '(c) => c.includes("o")' },
      { name: 'syntax', code: '(c) => {' },
      { name: 'notfn', code: '42' },
      { name: 'mutates', code: '(c, s) => { s.kind = "changed"; return 0; }' },
      { name: 'sees', code: '(c, s) => s.kind === "changed" ? 1 : 0' },
    ], completions, samples);
    expect(r.len).toEqual([{ score: 0.3 }, { score: 1.1 }, { score: 0.1 }]);
    expect(r.target).toEqual([{ score: 6 }, { score: 9 }, { score: -1 }]);
    expect(r.throws).toEqual([{ score: 1 }, { score: 1 }, { error: 'TypeError: no x' }]);
    expect(r.nan).toEqual([{ error: 'returned NaN, not a finite number' }, { error: 'returned a Promise: reward functions must be synchronous' }, { error: 'returned string, not a finite number' }]);
    expect(r.bool).toEqual([{ score: 0 }, { score: 1 }, { score: 0 }]);
    expect(r.syntax.every((x) => 'error' in x && /^compile error: SyntaxError/.test(x.error))).toBe(true);
    expect(r.notfn[0]).toEqual({ error: 'compile error: TypeError: the code is a number, not a function: write (completion, sample) => number' });
    expect(r.sees).toEqual([{ score: 0 }, { score: 0 }, { score: 0 }]); // each call gets its own copy of the sample
    expect(scorer.spawned).toBe(1);
  });

  it('an infinite loop times out per call; the worker is replaced and the rest are scored', async () => {
    scorer = new SandboxScorer(nodeSandbox, { callMs: 150, batchMs: 10_000 });
    const t0 = performance.now();
    const r = await scorer.score([
      { name: 'ok', code: '(c) => 1' },
      { name: 'loops', code: '(c) => { if (c !== "x") for (;;) {} return 2; }' },
      { name: 'after', code: '(c) => c.length' },
    ], completions, samples);
    expect(r.ok).toEqual([{ score: 1 }, { score: 1 }, { score: 1 }]);
    expect(r.loops).toEqual([{ error: 'timed out after 150 ms' }, { error: 'timed out after 150 ms' }, { score: 2 }]);
    expect(r.after).toEqual([{ score: 3 }, { score: 11 }, { score: 1 }]);
    expect(scorer.spawned).toBe(3);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('the batch limit ends a batch that keeps timing out', async () => {
    scorer = new SandboxScorer(nodeSandbox, { callMs: 200, batchMs: 300 });
    const t0 = performance.now();
    const r = await scorer.score([{ name: 'loops', code: '() => { for (;;) {} }' }], completions, samples);
    // three endless calls need ≥ 600 ms of call time: the 300 ms batch limit ends the batch. Its clock
    // starts before the worker's start-up (the call's after it), so on a loaded machine — a start-up of
    // > 100 ms — the batch limit comes before the first call's own; usually that call times out first.
    const call = { error: 'timed out after 200 ms' };
    const batch = { error: "timed out after 300 ms (the batch's time limit)" };
    const k = r.loops.findIndex((x) => 'error' in x && x.error === batch.error);
    expect(k, JSON.stringify(r.loops)).toBeGreaterThanOrEqual(0);
    expect(k).toBeLessThanOrEqual(1);
    expect(r.loops.slice(0, k)).toEqual(Array(k).fill(call));
    expect(r.loops.slice(k)).toEqual(Array(r.loops.length - k).fill(batch));
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('network, storage and messaging are gone; `import` and code-text timers are refused', async () => {
    scorer = new SandboxScorer(nodeSandbox, { callMs: 1000 });
    const r = await scorer.score([
      { name: 'fetch', code: '() => { fetch("http://127.0.0.1:1/"); return 1; }' },
      { name: 'idb', code: '() => { indexedDB.open("x"); return 1; }' },
      { name: 'scripts', code: '() => { importScripts("http://127.0.0.1:1/x.js"); return 1; }' },
      { name: 'post', code: '() => { postMessage({ type: "result", run: 1, k: 0, score: 99 }); return 1; }' },
      { name: 'import', code: '() => { import("http://127.0.0.1:1/x.js"); return 1; }' },
      { name: 'evalImport', code: '() => { eval("imp" + "ort(\'http://127.0.0.1:1/x.js\')"); return 1; }' },
      { name: 'ctorImport', code: '() => { (() => 0).constructor("return imp" + "ort(1)")(); return 1; }' },
      { name: 'timer', code: '() => { setTimeout("1 + 1", 0); return 1; }' },
      { name: 'evalOk', code: '(c) => eval("c.length") + new Function("a", "return a * 2")(1)' },
    ], ['a'], [samples[0]]);
    expect(r.fetch[0]).toEqual({ error: 'Error: fetch is not available to reward functions (the sandbox has no network and no storage)' });
    expect(r.idb[0]).toEqual({ error: 'Error: indexedDB is not available to reward functions (the sandbox has no network and no storage)' });
    expect(r.scripts[0]).toMatchObject({ error: expect.stringContaining('importScripts is not available') });
    expect(r.post[0]).toMatchObject({ error: expect.stringContaining('postMessage is not available') });
    expect(r.import[0]).toMatchObject({ error: expect.stringMatching(/^compile error: Error: `import` is not allowed/) });
    expect(r.evalImport[0]).toMatchObject({ error: expect.stringContaining('`import` is not allowed') });
    expect(r.ctorImport[0]).toMatchObject({ error: expect.stringContaining('`import` is not allowed') });
    expect(r.timer[0]).toMatchObject({ error: expect.stringContaining('takes a function') });
    // direct eval turns indirect (global scope): `c` is not visible
    expect(r.evalOk[0]).toMatchObject({ error: expect.stringContaining('ReferenceError') });
  });

  it('functions can change between batches', async () => {
    scorer = new SandboxScorer(nodeSandbox);
    const a = await scorer.score([{ name: 'f', code: '(c) => 1' }], completions, samples);
    const b = await scorer.score([{ name: 'f', code: '(c) => 2' }, { name: 'g', code: '(c) => c.length' }], completions, samples);
    expect(a.f.map((x) => 'score' in x && x.score)).toEqual([1, 1, 1]);
    expect(b.f.map((x) => 'score' in x && x.score)).toEqual([2, 2, 2]);
    expect(b.g.map((x) => 'score' in x && x.score)).toEqual([3, 11, 1]);
    expect(scorer.spawned).toBe(1);
  });

  it('a worker that never starts: every call fails with the start time-out; one that fails to load reports why', async () => {
    scorer = new SandboxScorer(() => ({ post: () => {}, terminate: () => {} }), { startMs: 50 });
    const r = await scorer.score([{ name: 'f', code: '() => 1' }], ['a', 'b'], [samples[0], samples[1]]);
    expect(r.f).toEqual([{ error: 'timed out after 50 ms while the sandbox started and compiled the functions' }, { error: 'timed out after 50 ms while the sandbox started and compiled the functions' }]);
    const failing = new SandboxScorer((_, onFailure) => ({ post: () => setTimeout(() => onFailure('blocked by CSP'), 5), terminate: () => {} }));
    const f = await failing.score([{ name: 'f', code: '() => 1' }], ['a'], [samples[0]]);
    expect(f.f).toEqual([{ error: 'the reward sandbox failed: blocked by CSP' }]);
  });
});
