// The reward sandbox in a real browser (headless Chromium): SandboxScorer's Blob worker, from the page
// and from inside a module worker (as in the engine worker). A correct function scores; a throwing
// one, one returning NaN and an infinite loop (timed out, the other completions still scored) report
// errors; attempts at fetch, XMLHttpRequest, WebSocket, EventSource, importScripts, import(),
// indexedDB, caches, navigator.storage and postMessage each fail — and the local server sees none of
// them (the page's own control request does reach it). No DOM in the sandbox.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { buildTestPages } from '../helpers/test-pages';

type Result = { score: number } | { error: string };
type Scored = { results: Record<string, Result[]>; spawned: number };
type Tz = { score(...a: unknown[]): Promise<Scored>; scoreInWorker(...a: unknown[]): Promise<Scored> };

let browser: Browser;
let server: StaticServer;
let page: Page;
let errors: string[];
const probes: string[] = [];

beforeAll(async () => {
  server = await serveStatic(await buildTestPages(), (req, res) => {
    if (!req.url?.startsWith('/probe/')) return false;
    probes.push(req.url);
    res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' }).end('');
    return true;
  });
  browser = await launchBrowser();
  page = await browser.newPage();
  errors = watchConsole(page);
  await page.goto(`${server.url}/test/browser/pages/sandbox.html`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const samples = [{ kind: 'countdown', nums: [1, 2, 3], target: 6 }, { kind: 'countdown', nums: [4, 5, 6], target: 15 }, { kind: 'qa', question: 'q', answer: '42', mode: 'auto' }];
const completions = ['a', 'bb', 'ccc'];

function fns(probe: string) {
  return [
    { name: 'ok', code: '(completion, sample) => completion.length + (sample.kind === "countdown" ? sample.target : 100)' },
    { name: 'throws', code: '(c) => { throw new RangeError("bad " + c); }' },
    { name: 'nan', code: '() => NaN' },
    { name: 'loops', code: '(c) => { if (c === "bb") for (;;) {} return 1; }' },
    { name: 'noDom', code: '() => (typeof document === "undefined" && typeof window === "undefined" ? 1 : 0)' },
    { name: 'fetch', code: `() => { fetch("${probe}/fetch"); return 1; }` },
    { name: 'fetchPort1', code: '() => { fetch("http://127.0.0.1:1/"); return 1; }' },
    { name: 'xhr', code: `() => { const x = new XMLHttpRequest(); x.open("GET", "${probe}/xhr"); x.send(); return 1; }` },
    { name: 'ws', code: `() => { new WebSocket("${probe.replace('http', 'ws')}/ws"); return 1; }` },
    { name: 'sse', code: `() => { new EventSource("${probe}/sse"); return 1; }` },
    { name: 'scripts', code: `() => { importScripts("${probe}/scripts.js"); return 1; }` },
    { name: 'dynImport', code: `() => { import("${probe}/import.js"); return 1; }` },
    { name: 'idb', code: '() => { indexedDB.open("tabzero"); return 1; }' },
    { name: 'caches', code: '() => { caches.open("x"); return 1; }' },
    { name: 'storage', code: '() => { navigator.storage.estimate(); return 1; }' },
    { name: 'post', code: '() => { self.postMessage({ type: "result", run: 1, k: 0, score: 9 }); return 1; }' },
  ];
}

function check(r: Scored): void {
  const x = r.results;
  expect(x.ok).toEqual([{ score: 7 }, { score: 17 }, { score: 103 }]);
  expect(x.throws).toEqual([{ error: 'RangeError: bad a' }, { error: 'RangeError: bad bb' }, { error: 'RangeError: bad ccc' }]);
  expect(x.nan.every((v) => 'error' in v && v.error === 'returned NaN, not a finite number')).toBe(true);
  expect(x.loops).toEqual([{ score: 1 }, { error: 'timed out after 50 ms' }, { score: 1 }]);
  expect(x.noDom).toEqual([{ score: 1 }, { score: 1 }, { score: 1 }]);
  const blocked: Record<string, string> = {
    fetch: 'fetch', fetchPort1: 'fetch', xhr: 'XMLHttpRequest', ws: 'WebSocket', sse: 'EventSource', scripts: 'importScripts',
    idb: 'indexedDB', caches: 'caches', storage: 'navigator.storage', post: 'postMessage',
  };
  for (const [fn, name] of Object.entries(blocked)) {
    expect(x[fn][0], fn).toEqual({ error: `Error: ${name} is not available to reward functions (the sandbox has no network and no storage)` });
  }
  expect(x.dynImport[0]).toMatchObject({ error: expect.stringMatching(/^compile error: Error: `import` is not allowed/) });
  expect(r.spawned).toBe(2); // the first worker, and one after the time-out
}

describe('reward sandbox in a real browser', () => {
  it('scores, reports errors, times out a loop, and blocks network and storage (from the page)', async () => {
    const r = await page.evaluate(([f, c, s]) => (window as unknown as { tz: Tz }).tz.score(f, c, s), [fns(`${server.url}/probe`), completions, samples] as const);
    check(r);
  });

  it('the same from inside a module worker (a nested Blob worker, as in the engine worker)', async () => {
    const r = await page.evaluate(([f, c, s]) => (window as unknown as { tz: Tz }).tz.scoreInWorker(f, c, s), [fns(`${server.url}/probe`), completions, samples] as const);
    check(r);
    await new Promise((res) => setTimeout(res, 300)); // let any request that slipped out arrive
    expect(probes).toEqual([]);
    await page.evaluate((u) => fetch(u).then((x) => x.text()), `${server.url}/probe/control`);
    expect(probes).toEqual(['/probe/control']);
    expect(errors).toEqual([]);
  });
});
