// AdaptersPanel in headless Chromium on the test page (real IndexedDB, a stand-in worker client):
// the list, inline rename by keyboard, the delete dialog (focus, Escape, confirm), persistence,
// export of a stored and of the active adapter as a .zip download (r > 16 warning shown), import
// of a zip and of a hub repo (served on the same origin). Screenshots in test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { buildTestPages } from '../helpers/test-pages';
import { FIXTURES_DIR } from '../helpers/fixtures';
import { buildPeftZip, readPeftZip } from '../../src/lora/files';

const ADAPTER = join(FIXTURES_DIR, 'reference-tiny', 'adapter');
const HUB: Record<string, Buffer> = {
  '/hub/someone/tiny-lora/resolve/main/adapter_config.json': readFileSync(join(ADAPTER, 'adapter_config.json')),
  '/hub/someone/tiny-lora/resolve/main/adapter_model.safetensors': readFileSync(join(ADAPTER, 'adapter_model.safetensors')),
};

/** A same-origin hub stand-in: HEAD, GET and Range on the two files, 404 otherwise. */
function hub(req: IncomingMessage, res: ServerResponse): boolean {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (!path.startsWith('/hub/')) return false;
  const body = HUB[path];
  if (!body) { res.writeHead(404).end('not found'); return true; }
  const m = /bytes=(\d+)-(\d+)?/.exec(req.headers.range ?? '');
  if (m) {
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : body.length - 1;
    res.writeHead(206, { 'content-length': b - a + 1, 'content-range': `bytes ${a}-${b}/${body.length}` });
    res.end(req.method === 'HEAD' ? undefined : body.subarray(a, b + 1));
  } else {
    res.writeHead(200, { 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
  return true;
}

let browser: Browser;
let server: StaticServer;
let page: Page;
let errors: string[];

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  server = await serveStatic(await buildTestPages(), hub);
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  errors = watchConsole(page);
  // no File System Access pickers in automation: exports take the <a download> path
  await page.addInitScript(() => { delete (window as unknown as { showSaveFilePicker?: unknown }).showSaveFilePicker; delete (window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker; });
  await page.goto(`${server.url}/test/browser/pages/adapters.html`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate((ep) => (window as unknown as { tz: { mountPanel(db: string, ep: string): Promise<void> } }).tz.mountPanel('panel-db', ep), `${server.url}/hub`);
  await page.getByTestId('adapter-list').waitFor();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const rowNames = () => page.locator('[data-testid="adapter-list"] tbody th .name').allTextContents().then((a) => a.map((s) => s.trim()));

describe('Adapters panel', () => {
  it('lists stored adapters with base model, r/alpha, targets, step, size; storage vs quota', async () => {
    expect(await rowNames()).toEqual(['countdown-r32', 'gsm8k-r16', 'countdown-r8']);
    const table = await page.getByTestId('adapter-list').textContent();
    expect(table).toContain('Qwen/Qwen2.5-1.5B-Instruct');
    expect(table).toContain('32 / 64');
    expect(table).toContain('vLLM: r > 16');
    expect(table).toContain('480');
    expect(await page.getByTestId('storage').textContent()).toMatch(/Storage: .* used of .* this site may use/);
    await page.screenshot({ path: 'test-results/adapters-panel.png', fullPage: true });
  });

  it('renames inline by keyboard: Enter saves, Escape cancels, focus returns to the button', async () => {
    await page.getByRole('button', { name: 'Rename gsm8k-r16' }).click();
    const input = page.getByLabel('New name for gsm8k-r16');
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);
    await input.fill('gsm8k final');
    await page.screenshot({ path: 'test-results/adapters-rename.png' });
    await input.press('Enter');
    await expect.poll(rowNames).toContain('gsm8k final');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Rename gsm8k final');
    await page.getByRole('button', { name: 'Rename gsm8k final' }).click();
    await page.getByLabel('New name for gsm8k final').fill('nope');
    await page.keyboard.press('Escape');
    await expect.poll(rowNames).toContain('gsm8k final');
  });

  it('delete asks first: focus on Cancel, Escape closes and returns focus; Delete removes the row', async () => {
    const del = page.getByRole('button', { name: 'Delete countdown-r8' });
    await del.click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await dialog.textContent()).toContain('Delete “countdown-r8”?');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await page.screenshot({ path: 'test-results/adapters-delete-dialog.png' });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Delete countdown-r8');
    expect(await rowNames()).toContain('countdown-r8');
    await del.click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(rowNames).toEqual(['gsm8k final', 'countdown-r32']);
    expect(await page.getByTestId('notice').textContent()).toContain('Deleted “countdown-r8”.');
  });

  it('"Keep data persistent" shows the browser\'s answer', async () => {
    await page.getByRole('button', { name: /Keep data persistent|kept persistently/ }).click();
    const result = page.getByTestId('persist-result');
    await result.waitFor();
    expect(await result.textContent()).toMatch(/Granted|Declined/);
  });

  it('exports a stored adapter as a .zip download with the r > 16 warning, and the active one', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export countdown-r32 as .zip' }).click()]);
    expect(download.suggestedFilename()).toBe('countdown-r32.zip');
    const b = readPeftZip(new Uint8Array(readFileSync(await download.path())));
    expect(b.settings).toMatchObject({ r: 32, alpha: 64, targets: ['q_proj'], baseModel: 'Qwen/Qwen2.5-1.5B-Instruct' });
    const notice = page.getByTestId('notice');
    await expect.poll(() => notice.textContent()).toContain('Exported “countdown-r32” (countdown-r32.zip)');
    expect(await notice.textContent()).toContain("vLLM's default max_lora_rank is 16; pass --max-lora-rank 32");
    await page.screenshot({ path: 'test-results/adapters-export-warning.png', fullPage: true });

    await page.getByRole('button', { name: 'Use countdown-r32' }).click();
    await expect.poll(() => page.getByTestId('active-adapter').textContent()).toContain('Active: countdown-r32');
    const files: string[] = [];
    page.on('download', (d) => files.push(d.suggestedFilename()));
    await page.getByRole('button', { name: 'Export active as PEFT files' }).click();
    await expect.poll(() => files.length).toBe(3);
    expect(files.sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
  });

  it('imports a .zip and a hub repo into the library; a bad file shows the error with its hint', async () => {
    const zip = buildPeftZip({ config: JSON.parse(HUB['/hub/someone/tiny-lora/resolve/main/adapter_config.json'].toString()), safetensors: new Uint8Array(HUB['/hub/someone/tiny-lora/resolve/main/adapter_model.safetensors']) });
    await page.setInputFiles('input[type=file]', { name: 'fixture-lora.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await expect.poll(rowNames).toContain('fixture-lora');
    await page.getByLabel('From a Hugging Face repo').fill('someone/tiny-lora');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect.poll(rowNames, { timeout: 20_000 }).toContain('someone/tiny-lora');
    await page.setInputFiles('input[type=file]', { name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from(zip.subarray(0, 100)) });
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/LoraError: broken\.zip is not a readable zip archive[\s\S]*What to do: /);
    await page.screenshot({ path: 'test-results/adapters-import-error.png', fullPage: true });
    expect(errors).toEqual([]);
  });
});
