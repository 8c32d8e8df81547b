// The model half of the app in headless Chromium with WebGPU (SwiftShader): a tiny Qwen2 model served
// by the hub stand-in on 127.0.0.1 (another origin: CORS), its endpoint set by ?hub= (the repo by
// ?repo=). The preview shows the download size and memory before loading; Load shows download then
// GPU progress and the summary (the download, cut once mid-file, resumes from where it stopped and the
// cached bytes are exact); a greedy reply streams in the chat; after a reload the same repo
// loads from the browser's weight cache (OPFS) with no request to the server at all; a local folder
// loads through the folder picker's input; the cache clears. Screenshots of
// each panel go to test-results/; any console error fails (except the 404s of optional files).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildApp, launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { writeTinyModel } from '../helpers/tiny-model';

let browser: Browser;
let server: StaticServer;
let hub: HubServer;
let tmp: string;

/** Files a repo may lack: asked once, and their 404 is logged by the browser. */
const OPTIONAL = /\/(model\.safetensors\.index\.json|chat_template\.jinja)$/;

/** Records each distinct text of `selector` (progress labels, a streaming reply) into window[key]. */
async function record(page: Page, selector: string, key: string): Promise<void> {
  await page.evaluate(([sel, k]) => {
    const seen: string[] = [];
    (window as unknown as Record<string, string[]>)[k] = seen;
    new MutationObserver(() => {
      const t = document.querySelector(sel)?.textContent ?? null;
      if (t !== null && seen[seen.length - 1] !== t) seen.push(t);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, [selector, key]);
}

/** SHA-256 of a file in the weight cache (OPFS), read in the page. */
function cachedSha256(page: Page, endpoint: string, repo: string, file: string): Promise<string> {
  return page.evaluate(async ([ep, r, f]) => {
    let d = await (await navigator.storage.getDirectory()).getDirectoryHandle('tabzero-weights-v1');
    for (const part of [ep, r, 'main']) d = await d.getDirectoryHandle(encodeURIComponent(part));
    const bytes = await (await (await d.getFileHandle(encodeURIComponent(f))).getFile()).arrayBuffer();
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, [endpoint, repo, file]);
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

const recorded = (page: Page, key: string) => page.evaluate((k) => (window as unknown as Record<string, string[]>)[k], key);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-model-ui-'));
  await writeTinyModel(join(tmp, 'test', 'tiny-qwen2'));
  hub = await startHubServer({ root: tmp, cors: true });
  server = await serveStatic(await buildApp());
  browser = await launchBrowser();
  mkdirSync('test-results', { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hub?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('model panel and chat in a real browser', () => {
  it('previews, downloads into the cache, loads, chats; after a reload loads from the cache with no request', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = watchConsole(page, (text, url) => /404/.test(text) && OPTIONAL.test(url));
    await page.goto(`${server.url}/?hub=${encodeURIComponent(hub.url)}&repo=test/tiny-qwen2`);
    await page.getByRole('tab', { name: 'GPU' }).click();
    await page.getByTestId('adapter-name').waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: 'Model' }).click();
    const panel = page.getByTestId('model-panel');
    const firstRun = page.getByTestId('first-run');
    await expect.poll(() => firstRun.textContent(), { timeout: 30_000 }).toMatch(/Loading downloads [\d.]+ KiB of weights \(1 file, plus small config and tokenizer files\) from 127\.0\.0\.1:\d+/);
    expect(await page.getByTestId('chat-memory').textContent()).toMatch(/KiB|MiB/);
    expect(await page.getByLabel('Repository').inputValue()).toBe('test/tiny-qwen2');
    await panel.screenshot({ path: 'test-results/model-preview.png' });
    await panel.getByText('Advanced').click();
    expect(await panel.getByLabel('Hub endpoint').inputValue()).toBe(hub.url);
    await panel.screenshot({ path: 'test-results/model-advanced.png' });
    await panel.getByText('Advanced').click();

    // first load: downloaded into the cache (the connection is cut mid-file once: it resumes), then moved to the GPU
    hub.failNext({ method: 'GET', pathEndsWith: '/model.safetensors' }, 'reset');
    await record(page, '[data-testid=load-progress] label', 'progress');
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await page.getByTestId('load-progress').waitFor({ timeout: 10_000 });
    await panel.screenshot({ path: 'test-results/model-loading.png' });
    const summary = page.getByTestId('model-summary');
    await summary.waitFor({ timeout: 60_000 });
    expect((await summary.textContent())?.replace(/\s+/g, ' ')).toMatch(/test\/tiny-qwen2 is loaded in [\d.]+ s\. [\d.]+ M parameters · 2 layers · hidden 64 · vocab 320 · 4-bit projections \(from bf16\) · [\d.]+ KiB of weights on the GPU/);
    const progress = await recorded(page, 'progress');
    expect(progress.some((p) => /^Downloading model\.safetensors: [\d.]+ (B|KiB) of [\d.]+ KiB$/.test(p)), progress.join('\n')).toBe(true);
    expect(progress.some((p) => /^Loading weights onto the GPU \(quantizing to 4 bits\)/.test(p)), progress.join('\n')).toBe(true);
    const weightGets = hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/model.safetensors'));
    const size = statSync(join(tmp, 'test', 'tiny-qwen2', 'model.safetensors')).size;
    // the first request is cut mid-file; every later one resumes past byte 0 (never from the start) and the file completes
    const ranges = weightGets.map((r) => r.range ?? '');
    expect(ranges[0]).toBe(`bytes=0-${size - 1}`);
    expect(ranges.length).toBeGreaterThan(1);
    for (const r of ranges.slice(1)) expect(r).toMatch(/^bytes=[1-9]\d*-\d+$/);
    expect(ranges.slice(1).some((r) => r.endsWith(`-${size - 1}`))).toBe(true);
    expect(await cachedSha256(page, hub.url, 'test/tiny-qwen2', 'model.safetensors')).toBe(sha256(join(tmp, 'test', 'tiny-qwen2', 'model.safetensors')));
    await expect.poll(() => page.getByTestId('cache-size').textContent()).toMatch(/^[\d.]+ KiB$/);
    await panel.screenshot({ path: 'test-results/model-loaded.png' });

    // a short greedy reply streams in
    await page.getByRole('tab', { name: 'Chat' }).click();
    const chat = page.getByTestId('chat-panel');
    await chat.getByText('Sampling and system prompt').click();
    await chat.getByLabel('Temperature').fill('0');
    await chat.getByLabel('Max tokens').fill('4');
    await record(page, '[data-testid=reply-base] .text', 'reply');
    await chat.getByLabel('Message').fill('Hi there');
    await chat.getByLabel('Message').press('Enter');
    const reply = chat.getByTestId('reply-base');
    await expect.poll(() => reply.getAttribute('data-status'), { timeout: 90_000 }).toBe('done');
    const text = (await reply.locator('.text').textContent()) ?? '';
    expect(text.length).toBeGreaterThan(0);
    const states = await recorded(page, 'reply');
    expect(states.filter((s) => s.length > 0 && s.length < text.length + 1).length, states.join(' | ')).toBeGreaterThan(1); // text grew step by step
    expect(await reply.getByTestId('reply-meta').textContent()).toMatch(/^\d tokens in [\d.]+ s/);
    await chat.screenshot({ path: 'test-results/chat-panel.png' });

    // reload: everything comes from the browser's weight cache
    const before = hub.requests.length;
    await page.reload();
    await page.getByRole('tab', { name: 'GPU' }).click();
    await page.getByTestId('adapter-name').waitFor({ timeout: 60_000 });
    await page.getByRole('tab', { name: 'Model' }).click();
    await expect.poll(() => firstRun.textContent(), { timeout: 60_000 }).toContain("are in this browser's cache: loading downloads nothing");
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await summary.waitFor({ timeout: 60_000 });
    expect(await summary.textContent()).toContain('is loaded (from the browser cache)');
    expect(hub.requests.slice(before)).toEqual([]);

    // a local folder (the picker's input; a drop gives the same File objects)
    await panel.getByLabel('Local folder').check();
    await panel.locator('input[type=file]').setInputFiles(join(tmp, 'test', 'tiny-qwen2'));
    await expect.poll(() => firstRun.textContent()).toContain('The weights are read from the folder');
    await panel.screenshot({ path: 'test-results/model-folder.png' });
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await expect.poll(async () => (await summary.textContent())?.replace(/\s+/g, ' '), { timeout: 60_000 }).toMatch(/^ ?tiny-qwen2 is loaded \(from the folder\)/);
    expect(hub.requests.slice(before)).toEqual([]);

    // the cache can be cleared
    await panel.getByRole('button', { name: 'Clear cache' }).click();
    await expect.poll(() => page.getByTestId('cache-size').textContent()).toBe('0 B');

    await page.getByRole('tab', { name: 'GPU' }).click();
    await page.getByTestId('panel-gpu').locator('section').first().screenshot({ path: 'test-results/gpu-panel.png' });
    await page.getByRole('tab', { name: 'Model' }).click();
    await page.screenshot({ path: 'test-results/app-model-light.png', fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: 'test-results/app-model-dark.png', fullPage: true });
    expect(errors).toEqual([]);
  });
});
