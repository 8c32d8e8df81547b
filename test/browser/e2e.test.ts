// End to end in headless Chromium with WebGPU (SwiftShader) against the built app on localhost, as a
// person would use it: load the tiny test model (from a local folder; no internet), train Countdown
// with a tiny budget (3 steps) from the Train tab, see metrics and samples appear, pause after the
// first step, reload the page, load the model again and resume from the checkpoint, finish, reload,
// find the trained adapter in the Adapters library, export it and parse the downloaded safetensors.
// A screenshot of each panel goes to test-results/e2e-*.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { writeTinyModel } from '../helpers/tiny-model';
import { buildApp, launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { readSafetensors } from '../../src/formats/safetensors';
import { parsePeftConfig } from '../../src/lora/peft';

let browser: Browser;
let server: StaticServer;
let tmp: string;

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-e2e-'));
  await writeTinyModel(join(tmp, 'tiny-qwen2'));
  server = await serveStatic(await buildApp());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function loadModel(page: Page): Promise<void> {
  await page.getByRole('tab', { name: 'Model' }).click();
  const model = page.getByTestId('model-panel');
  await model.getByLabel('Local folder').check();
  await model.locator('input[type=file]').setInputFiles(join(tmp, 'tiny-qwen2'));
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  await page.getByTestId('model-summary').waitFor({ timeout: 90_000 });
}

const status = (page: Page) => page.getByTestId('training-status').textContent();
const shot = (page: Page, name: string) => page.screenshot({ path: `test-results/e2e-${name}.png`, fullPage: true });

describe('end to end: train, pause, reload, resume, keep and export the adapter', () => {
  it('runs the whole journey in one browser profile', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    // force the download fallback: a save-file picker would wait for a person
    await context.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      delete w.showSaveFilePicker;
      delete w.showDirectoryPicker;
    });
    const page = await context.newPage();
    const errors = watchConsole(page, (_text, url) => url.startsWith('https://huggingface.co/'));
    await page.goto(server.url);
    await page.getByRole('button', { name: 'Got it, hide this' }).click();
    await loadModel(page);
    await shot(page, 'model');

    // Task & Rewards: Countdown with its TinyZero reward (the defaults)
    await page.getByRole('tab', { name: 'Task & Rewards' }).click();
    await page.getByTestId('task-panel').waitFor();
    await shot(page, 'task');

    // Train: a tiny budget, checkpoint every step; pause once step 1 is done
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByLabel('Preset').selectOption('Tiny CI');
    await page.getByLabel('Total steps').fill('3');
    await page.getByLabel('Checkpoint every (steps)').fill('1');
    const start = page.getByTestId('start-training');
    await expect.poll(() => start.isEnabled()).toBe(true);
    await start.click();
    await expect.poll(() => page.getByTestId('step-counter').textContent(), { timeout: 180_000 }).toMatch(/step [1-3] \/ 3/);
    await page.getByTestId('pause-training').click();
    await expect.poll(() => status(page), { timeout: 120_000 }).toBe('Paused');
    const pausedAt = Number(/step (\d) \/ 3/.exec((await page.getByTestId('step-counter').textContent()) ?? '')?.[1]);
    expect(pausedAt).toBeGreaterThanOrEqual(1);
    await shot(page, 'train-paused');

    // metrics and samples appeared
    await page.getByRole('tab', { name: 'Dashboard' }).click();
    // charts are created one per frame: the screenshot waits for the last of them
    for (const id of ['reward', 'tokens', 'memory']) await page.getByTestId(`metrics-chart-${id}`).locator('canvas').waitFor();
    await shot(page, 'dashboard');
    await page.getByRole('tab', { name: 'Samples' }).click();
    await expect.poll(() => page.getByTestId('samples-list').getByTestId('sample').count()).toBeGreaterThan(0);
    await shot(page, 'samples');

    // reload: the run is offered for resumption from its checkpoint; the model must be loaded again
    await page.reload();
    await loadModel(page);
    await page.getByRole('tab', { name: 'Train' }).click();
    const banner = page.getByTestId('resume-run');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(new RegExp(`step ${pausedAt}`));
    await expect.poll(() => banner.isEnabled()).toBe(true);
    await banner.click();
    await expect.poll(() => status(page), { timeout: 240_000 }).toBe('Finished');
    expect(await page.getByTestId('step-counter').textContent()).toMatch(/step 3 \/ 3/);
    await shot(page, 'train-finished');
    await page.getByRole('tab', { name: 'Dashboard' }).click();
    expect(await page.getByTestId('metrics-latest-reward').textContent()).toMatch(/\(step 3\)/);

    // reload: the trained adapter is in the library
    await page.reload();
    await page.getByRole('tab', { name: 'Adapters' }).click();
    const list = page.getByTestId('adapter-list');
    await expect.poll(() => list.locator('tbody tr').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await shot(page, 'adapters');
    for (const [name, id] of [['Playground', 'playground'], ['Chat', 'chat'], ['GPU', 'gpu']] as const) {
      await page.getByRole('tab', { name }).click();
      await page.getByTestId(`panel-${id}`).waitFor();
      await shot(page, id);
    }
    await page.getByRole('tab', { name: 'Adapters' }).click();

    // export as .zip (download), then parse adapter_model.safetensors as PEFT would
    const exportButton = list.getByRole('button', { name: /as \.zip$/ }).first();
    const [download] = await Promise.all([page.waitForEvent('download'), exportButton.click()]);
    const path = join(tmp, 'adapter.zip');
    await download.saveAs(path);
    const files = unzipSync(new Uint8Array(readFileSync(path)));
    const names = Object.keys(files);
    const st = names.find((n) => n.endsWith('adapter_model.safetensors'));
    const cfg = names.find((n) => n.endsWith('adapter_config.json'));
    expect(st && cfg, names.join(', ')).toBeTruthy();
    const settings = parsePeftConfig(JSON.parse(new TextDecoder().decode(files[cfg!])));
    const { header, tensors } = readSafetensors(files[st!]);
    expect(header.metadata.format).toBe('pt');
    expect(tensors.size).toBe(2 * 2 * settings.targets.length); // 2 layers × (A, B) × targets
    for (const [key, t] of tensors) {
      expect(key).toMatch(/^base_model\.model\.model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.lora_[AB]\.weight$/);
      expect(t.info.dtype).toBe('F32');
    }
    expect(errors).toEqual([]);
    await context.close();
  }, 900_000);
});
