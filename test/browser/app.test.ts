// The built app on localhost in headless Chromium with WebGPU: it shows the adapter's name and
// limits, passes the kernel self-test in its worker, logs no console error, and is screenshotted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { buildApp, launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

let browser: Browser;
let server: StaticServer;

beforeAll(async () => {
  server = await serveStatic(await buildApp());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('app in a real browser', () => {
  it('shows the WebGPU adapter and its limits', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // the Model panel previews the default repo from huggingface.co, which this offline test cannot reach
    const errors = watchConsole(page, (_text, url) => url.startsWith('https://huggingface.co/'));
    await page.goto(server.url);
    await expect.poll(() => page.locator('h1').textContent()).toBe('TabZero');
    await page.getByRole('tab', { name: 'GPU' }).click();
    const adapter = page.getByTestId('adapter-name');
    await adapter.waitFor({ timeout: 60_000 });
    expect((await adapter.textContent())?.trim().length).toBeGreaterThan(0);
    const limits = await page.getByTestId('limits').textContent();
    expect(limits).toContain('maxStorageBufferBindingSize');
    expect(limits).toContain('maxComputeWorkgroupStorageSize');
    await expect.poll(() => page.getByTestId('selftest').textContent()).toContain('passed');
    await expect.poll(() => page.getByTestId('selftest-window').textContent(), { timeout: 30_000 }).toContain('passed');
    // a software adapter has no subgroup matrices: the panel says so, and why
    expect(await page.getByTestId('tensor-cores').textContent()).toContain('tensor cores no');
    expect(await page.locator('section[aria-labelledby="gpu-title"]').textContent()).toMatch(/decode on the regular kernels here \((no chromium-experimental-subgroup-matrix|no shader-f16)/);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/app-gpu.png', fullPage: true });
    expect(errors).toEqual([]);
  });
});

describe('app without WebGPU', () => {
  it('says WebGPU is missing and what to do', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await page.addInitScript(() => { delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu; });
    await page.goto(server.url);
    // shown above whichever tab is open (the Model tab's preview may add its own alert when offline)
    const alert = page.getByRole('alert').filter({ hasText: 'WebGPU' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/does not expose WebGPU[\s\S]*What to do: use Chrome or Edge/);
    await page.screenshot({ path: 'test-results/app-no-webgpu.png' });
  });
});
