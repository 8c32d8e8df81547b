// The training panels on a test page with a stand-in training state (no GPU run): the Dashboard draws
// every chart from streamed steps with the latest values as text, its own work short and redraws
// coalesced per frame; the
// Samples panel shows model output as text only (HTML in completions stays inert), highlights
// <think>/<answer> and filters; the Train panel's buttons follow the status and its fields show
// validation messages. Screenshots (light, dark, 1280 and 420 px wide) in test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';
import { buildTestPages } from '../helpers/test-pages';

let browser: Browser;
let server: StaticServer;

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  server = await serveStatic(await buildTestPages());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

type Tz = { mount(w: string): void; addSteps(n: number): void; stream(n: number, ms: number): Promise<void>; now(): number; longTasks: [number, number][]; chartWork: Record<'updates' | 'frames' | 'builds', number[]>; training: { status: string; calls: string[]; resumable: unknown; error: unknown } };

async function open(which: string, opts: { width?: number; dark?: boolean; steps?: number } = {}): Promise<{ page: Page; errors: string[]; mountedAt: number }> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1280, height: 800 } });
  if (opts.dark) await page.emulateMedia({ colorScheme: 'dark' });
  const errors = watchConsole(page);
  await page.goto(`${server.url}/test/browser/pages/panels.html`);
  await page.waitForSelector('body[data-ready="true"]');
  if (opts.steps) await page.evaluate((n) => (window as unknown as { tz: Tz }).tz.addSteps(n), opts.steps);
  const mountedAt = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.now());
  await page.evaluate((w) => (window as unknown as { tz: Tz }).tz.mount(w), which);
  return { page, errors, mountedAt };
}

/** The p-th percentile (0..1) of a list of durations. */
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
}
const summary = (w: Record<string, number[]>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, { n: v.length, p50: +pct(v, 0.5).toFixed(1), p90: +pct(v, 0.9).toFixed(1), max: +pct(v, 1).toFixed(1) }]));

const shot = (page: Page, name: string) => page.screenshot({ path: `test-results/${name}.png`, fullPage: true });

/** The page scrolls sideways (something is wider than the window). */
const overflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);

describe('Dashboard', () => {
  it('streams steps into every chart, latest values as text, chart work short and coalesced per frame', async () => {
    const { page, errors } = await open('dashboard');
    await page.getByTestId('dashboard-empty').waitFor();
    const t0 = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.now());
    await page.evaluate(() => (window as unknown as { tz: Tz }).tz.addSteps(100));
    await page.waitForTimeout(500);
    const t1 = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.now());
    await page.evaluate(() => (window as unknown as { tz: Tz }).tz.stream(20, 30));
    const t2 = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.now());
    const ids = ['reward', 'reward-std', 'kl', 'length', 'loss', 'grad-norm', 'lr', 'tokens', 'memory'];
    for (const id of ids) {
      const chart = page.getByTestId(`metrics-chart-${id}`);
      await chart.locator('canvas').waitFor();
      expect(await chart.getByTestId(`metrics-latest-${id}`).textContent(), id).toMatch(/\(step 120\)/);
    }
    expect(await page.getByTestId('metrics-latest-reward').textContent()).toMatch(/total [\d.]+.*countdown [\d.]+.*think_answer_format [\d.]+/s);
    expect(await page.getByTestId('metrics-latest-memory').textContent()).toMatch(/GiB/);
    expect(await page.getByRole('figure', { name: 'Reward', exact: true }).count()).toBe(1);
    expect(await page.getByTestId('dashboard-step-counter').textContent()).toMatch(/step 120 \/ 200/);
    const long = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.longTasks);
    const work = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.chartWork);
    // long tasks here include the browser's own layout and software rasterisation on a slow CI machine: logged, not asserted
    console.log('long tasks [start, ms]:', JSON.stringify(long), 'mounted', Math.round(t0), '100 steps until', Math.round(t1), 'streamed until', Math.round(t2), 'chart work', JSON.stringify(summary(work)));
    // the charts' own work (an update, a frame of redraws, a chart's creation) stays far below a 50 ms
    // task; percentiles, as wall-clock times on a shared CI machine include time the thread was descheduled
    expect(work.updates.length).toBeGreaterThan(9 * 20);
    expect(work.frames.length).toBeLessThan(work.updates.length / 3); // redraws are coalesced per frame
    expect(pct(work.updates, 0.9)).toBeLessThan(10);
    expect(pct(work.frames, 0.9)).toBeLessThan(25);
    expect(pct(work.builds, 0.9)).toBeLessThan(40);
    await page.waitForTimeout(200);
    await shot(page, 'panel-dashboard-data-1280');
    await page.setViewportSize({ width: 420, height: 800 });
    await page.waitForTimeout(300);
    expect(await overflows(page)).toBe(false);
    await shot(page, 'panel-dashboard-data-420');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens with 150 steps already there, one chart created per frame, and is readable in dark mode', async () => {
    const { page, mountedAt } = await open('dashboard', { dark: true, steps: 150 });
    await page.getByTestId('metrics-chart-memory').locator('canvas').waitFor();
    await page.waitForTimeout(300);
    const long = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.longTasks);
    const work = await page.evaluate(() => (window as unknown as { tz: Tz }).tz.chartWork);
    console.log('long tasks [start, ms]:', JSON.stringify(long), 'mounted at', Math.round(mountedAt), 'chart work', JSON.stringify(summary(work)));
    expect(work.builds.length).toBe(9); // one chart created per frame
    expect(pct(work.updates, 0.9)).toBeLessThan(10);
    expect(pct(work.builds, 0.5)).toBeLessThan(20);
    await shot(page, 'panel-dashboard-data-dark-1280');
    await page.close();
  });
});

describe('Samples', () => {
  it('renders completions as text with think/answer highlighted; filters by best/worst and step', async () => {
    const { page, errors } = await open('samples');
    await page.evaluate(() => (window as unknown as { tz: Tz }).tz.addSteps(3));
    const list = page.getByTestId('samples-list');
    await expect.poll(() => list.getByTestId('sample').count()).toBe(9);
    // HTML in model output stays text: no elements, no script ran
    expect(await list.locator('b, img, script').count()).toBe(0);
    expect(await list.textContent()).toContain('<img src=x onerror="window.pwned=1">');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await list.locator('.seg.answer').first().textContent()).toBe(' 3 + 4 + 5 ');
    expect(await list.locator('.seg.think').first().textContent()).toContain('3 + 4 = 7');
    expect(await list.textContent()).toContain('len: TypeError: x is undefined');
    await page.getByLabel('best of each step').check();
    await expect.poll(() => list.getByTestId('sample').count()).toBe(3);
    await page.getByLabel('worst of each step').check();
    await page.getByLabel('Step', { exact: true }).selectOption('2');
    await expect.poll(() => list.getByTestId('sample').count()).toBe(1);
    expect(await list.textContent()).toContain('I do not know');
    await page.getByLabel('all', { exact: true }).check();
    await page.getByLabel('Step', { exact: true }).selectOption('all');
    await shot(page, 'panel-samples-1280');
    await page.setViewportSize({ width: 420, height: 800 });
    expect(await overflows(page)).toBe(false);
    await shot(page, 'panel-samples-420');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'panel-samples-dark-420');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('Train panel', () => {
  it('offers to continue the active adapter instead of a fresh one', async () => {
    const { page, errors } = await open('train');
    const box = page.getByLabel(/Continue training the active adapter countdown-v1/);
    expect(await box.isChecked()).toBe(false);
    await box.check();
    await page.getByTestId('start-training').click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { tz: Tz }).tz.training.calls)).toEqual(['start:from-adapter']);
    expect(await page.getByTestId('continue-adapter').count()).toBe(0); // hidden while the run is under way
    expect(errors).toEqual([]);
    await page.close();
  });

  it('enables controls by status and shows validation next to a field', async () => {
    const { page, errors } = await open('train');
    const start = page.getByTestId('start-training');
    const pause = page.getByTestId('pause-training');
    const resume = page.getByTestId('resume-training');
    const stop = page.getByTestId('stop-training');
    expect([await start.isEnabled(), await pause.isEnabled(), await resume.isEnabled(), await stop.isEnabled()]).toEqual([true, false, false, false]);
    await page.getByLabel('Temperature').fill('0');
    const err = page.getByTestId('cfg-error-temperature');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/temperature must be in \(0, 10\]/);
    expect(await page.getByLabel('Temperature').getAttribute('aria-invalid')).toBe('true');
    expect(await start.isEnabled()).toBe(false);
    expect(await page.getByTestId('train-blockers').textContent()).toMatch(/1 setting is out of range/);
    await page.getByLabel('Temperature').fill('0.9');
    await expect.poll(() => start.isEnabled()).toBe(true);
    await page.getByLabel('Preset').selectOption('Tiny CI');
    expect(await page.getByLabel('Completions per prompt (G)').inputValue()).toBe('4');
    await start.click();
    await expect.poll(() => pause.isEnabled()).toBe(true);
    expect(await start.isEnabled()).toBe(false);
    await page.evaluate(() => (window as unknown as { tz: Tz }).tz.addSteps(12));
    expect(await page.getByTestId('step-counter').textContent()).toMatch(/step 12 \/ 200/);
    expect(await page.getByTestId('eta').textContent()).toMatch(/min/);
    await pause.click();
    await expect.poll(() => resume.isEnabled()).toBe(true);
    await shot(page, 'panel-train-paused-1280');
    await resume.click();
    await stop.click();
    await expect.poll(() => start.isEnabled()).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { tz: Tz }).tz.training.calls)).toEqual(['start', 'pause', 'resume', 'stop']);
    // after a reload with a checkpoint: the banner offers to resume
    await page.evaluate(() => {
      const t = (window as unknown as { tz: Tz }).tz.training;
      t.resumable = { runId: 'run-1', step: 12, totalSteps: 200 };
      t.error = { name: 'GpuOutOfMemoryError', message: 'out of GPU memory allocating 1.2 GiB', hint: '' };
    });
    await page.getByTestId('resume-banner').waitFor();
    expect(await page.getByTestId('resume-run').textContent()).toBe('Resume run from step 12');
    expect(await page.getByTestId('train-error').textContent()).toMatch(/What to do: lower/);
    await shot(page, 'panel-train-resume-1280');
    await page.setViewportSize({ width: 420, height: 800 });
    expect(await overflows(page)).toBe(false);
    await shot(page, 'panel-train-resume-420');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('Task & Rewards and Playground with a run under way', () => {
  it('applies the reward set to the running training; the playground tries it on samples', async () => {
    const { page, errors } = await open('task');
    await page.evaluate(() => { const t = (window as unknown as { tz: Tz }).tz.training; t.status = 'running'; });
    await page.getByTestId('add-custom-reward').click();
    await page.getByLabel('Name').fill('short');
    await page.getByTestId('apply-rewards').click();
    await expect.poll(() => page.evaluate(() => (window as unknown as { tz: Tz }).tz.training.calls)).toEqual(['update-rewards:countdown,short']);
    expect(await page.getByTestId('reward-list').textContent()).toContain('applied');
    await page.close();

    const p = await open('playground');
    await p.page.evaluate(() => {
      const tz = (window as unknown as { tz: Tz & { task: { addCustom(): { name: string } } } }).tz;
      tz.training.status = 'running';
      tz.addSteps(2);
      tz.task.addCustom().name = 'short';
    });
    await p.page.getByTestId('play-try-samples').click();
    const tried = p.page.getByTestId('play-tried');
    await tried.waitFor();
    expect(await tried.locator('tbody tr').count()).toBe(3);
    // the custom function scores in the real sandbox worker
    await expect.poll(() => p.page.getByTestId('play-result-short').textContent(), { timeout: 10_000 }).toMatch(/^short\s*custom\s*0\.1\s*1\s*custom function$/);
    await shot(p.page, 'panel-playground-tried-1280');
    expect([...errors, ...p.errors]).toEqual([]);
    await p.page.close();
  });
});
