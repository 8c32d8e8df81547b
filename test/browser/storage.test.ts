// storage/ in a real browser (headless Chromium, real IndexedDB and Web Locks), driven through the
// test page's window.tz: version 1 of an adapter survives an injected failure mid-write of version 2,
// and a real page reload in the middle of a large write; the orphaned chunks are swept at next open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { buildTestPages } from '../helpers/test-pages';

let browser: Browser;
let server: StaticServer;
let page: Page;
let errors: string[];

beforeAll(async () => {
  server = await serveStatic(await buildTestPages());
  browser = await launchBrowser();
  page = await browser.newPage();
  errors = watchConsole(page);
  await page.goto(`${server.url}/test/browser/pages/adapters.html`);
  await page.waitForSelector('body[data-ready="true"]');
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Tz = {
  saveV1(db: string, r: number, layers: number, chunk: number): Promise<{ id: string; version: number; sum: number; bytes: number; expected: number }>;
  failingUpdate(db: string, id: string, r: number, layers: number, failAt: number, chunk: number): Promise<{ err: { name: string; message: string; hint: string } | null; after: { version: number; sum: number }; chunkKeys: number; referenced: number }>;
  startBigUpdate(db: string, id: string, r: number, layers: number, chunk: number, holdAt: number): Promise<void>;
  afterReload(db: string, id: string): Promise<{ orphansBefore: number; sweptAtOpen: number; orphansAfter: number; adapter: { version: number; sum: number; bytes: number } }>;
};
type W = { tz: Tz; tzProgress?: number; tzDone?: boolean };

describe('storage in a real browser', () => {
  it('an injected failure mid-write of version 2 leaves version 1 intact and no stray chunks', async () => {
    const chunk = 16 * 1024;
    const v1 = await page.evaluate((c) => (window as unknown as W).tz.saveV1('fail-db', 64, 4, c), chunk);
    expect(v1.version).toBe(1);
    expect(v1.sum).toBe(v1.expected);
    const r = await page.evaluate(([id, c]) => (window as unknown as W).tz.failingUpdate('fail-db', id, 64, 4, 5, c), [v1.id, chunk] as const);
    expect(r.err?.name).toBe('StorageError');
    expect(r.err?.message).toMatch(/storage write failed while writing chunk 5\/\d+ of adapter 'precious' v2/);
    expect(r.err?.hint).toMatch(/previous version is kept/);
    expect(r.after).toEqual({ version: 1, sum: v1.expected, bytes: v1.bytes });
    expect(r.chunkKeys).toBe(r.referenced); // the failed write cleaned up after itself
  });

  it('a page reload in the middle of a large write: version 1 intact after reload, orphans swept at open', async () => {
    const chunk = 256 * 1024;
    const v1 = await page.evaluate((c) => (window as unknown as W).tz.saveV1('reload-db', 256, 2, c), chunk);
    // version 2: 2 layers × 2 × (16384 × 64) floats = 16 MiB in 64 chunks of 256 KiB
    // chunk write 5 hangs, so the reload comes mid-write however fast the machine (a 1 ms poll for ≥ 4 chunks raced the other 60 under load)
    await page.evaluate(([id, c]) => (window as unknown as W).tz.startBigUpdate('reload-db', id, 16384, 2, c, 5), [v1.id, chunk] as const);
    await page.waitForFunction(() => ((window as unknown as W).tzProgress ?? 0) >= 5, undefined, { timeout: 30_000, polling: 1 });
    const progress = await page.evaluate(() => (window as unknown as W).tzProgress);
    const done = await page.evaluate(() => Boolean((window as unknown as W).tzDone));
    expect(done, 'the write finished before the reload').toBe(false);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    const r = await page.evaluate((id) => (window as unknown as W).tz.afterReload('reload-db', id), v1.id);
    console.log(`reload once ≥ ${progress} of 64 chunks were written: ${r.orphansBefore} orphaned chunks found, ${r.sweptAtOpen} swept at open, ${r.orphansAfter} left`);
    expect(r.adapter).toEqual({ version: 1, sum: v1.expected, bytes: v1.bytes });
    expect(r.orphansBefore).toBeGreaterThanOrEqual(1);
    expect(r.sweptAtOpen).toBe(r.orphansBefore);
    expect(r.orphansAfter).toBe(0);
    expect(errors).toEqual([]);
  });
});
