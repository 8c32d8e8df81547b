// The built app in headless Chromium (real engine worker, no model loaded): the first-run welcome card
// (what is downloaded, GPU memory, what to expect; dismissed for good), every tab reached by keyboard
// (arrow keys, Home, End) with its panel shown and every visible control labelled; the Countdown
// settings and a custom reward function filled in; a bad config value's message next to its field;
// screenshots of every panel at 1280×800 and 420×800, light and dark, in test-results/. And a smoke
// run: a tiny model from a folder, two Tiny CI steps started from the Train tab, seen on the Train,
// Dashboard and Samples tabs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model';
import type { Browser, Page } from 'playwright-core';
import { buildApp, launchBrowser, watchConsole } from '../helpers/browser';
import { serveStatic, type StaticServer } from '../helpers/static-server';

const TABS = ['Model', 'Task & Rewards', 'Train', 'Dashboard', 'Samples', 'Playground', 'Chat', 'Adapters', 'GPU'];
const IDS = ['model', 'task', 'train', 'dashboard', 'samples', 'playground', 'chat', 'adapters', 'gpu'];

let browser: Browser;
let server: StaticServer;
let tmp: string;

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'tabzero-panels-'));
  await writeTinyModel(join(tmp, 'tiny-qwen2'));
  server = await serveStatic(await buildApp());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Visible form controls and buttons in the element with `id` that have no accessible name. */
function unlabelled(page: Page, id: string): Promise<string[]> {
  return page.evaluate((panelId) => {
    const root = document.getElementById(panelId)!;
    const bad: string[] = [];
    for (const el of root.querySelectorAll<HTMLElement>('input, select, textarea, button, [role=button], [tabindex="0"]')) {
      if (el.getAttribute('aria-hidden') === 'true' || el.closest('[hidden], details:not([open]) > :not(summary)')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const byIds = (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean).map((i) => document.getElementById(i)?.textContent ?? '').join(' ');
      const labels = 'labels' in el ? [...((el as HTMLInputElement).labels ?? [])].map((l) => l.textContent ?? '').join(' ') : '';
      const own = el.tagName === 'BUTTON' || el.getAttribute('role') === 'button' ? el.textContent ?? '' : '';
      const name = [el.getAttribute('aria-label'), byIds, labels, own, el.getAttribute('title')].join(' ').trim();
      if (el.id === panelId) continue; // the tabpanel itself is named by its tab
      if (!name) bad.push(el.outerHTML.slice(0, 140));
    }
    return bad;
  }, id);
}

const overflows = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);

async function newPage(width: number, dark = false): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 800 } });
  if (dark) await page.emulateMedia({ colorScheme: 'dark' });
  // the Model panel previews the default repo from huggingface.co, which this offline test cannot reach
  const errors = watchConsole(page, (_text, url) => url.startsWith('https://huggingface.co/'));
  await page.goto(server.url);
  await page.getByRole('tab', { name: 'Model' }).waitFor();
  return { page, errors };
}

/** Opens each tab with the arrow key and screenshots it (fullPage) as `${prefix}-<id>.png`. */
async function walkTabs(page: Page, prefix: string, key: 'ArrowDown' | 'ArrowRight'): Promise<void> {
  await page.getByRole('tab', { name: 'Model' }).click();
  for (let i = 0; i < TABS.length; i++) {
    if (i > 0) await page.keyboard.press(key);
    const tab = page.getByRole('tab', { name: TABS[i], exact: true });
    await expect.poll(() => tab.getAttribute('aria-selected')).toBe('true');
    await page.getByTestId(`panel-${IDS[i]}`).waitFor();
    if (IDS[i] === 'dashboard') await page.getByTestId('metrics-chart-memory').locator('canvas').waitFor();
    if (IDS[i] === 'gpu') await page.getByTestId('adapter-name').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: `test-results/${prefix}-${IDS[i]}.png`, fullPage: true });
    expect(await overflows(page), `${prefix} ${IDS[i]} scrolls sideways`).toBe(false);
  }
}

describe('app layout', () => {
  it('shows the welcome card until dismissed', async () => {
    const { page, errors } = await newPage(1280);
    const welcome = page.getByTestId('welcome');
    await welcome.waitFor();
    const text = (await welcome.textContent())?.replace(/\s+/g, ' ') ?? '';
    expect(text).toMatch(/Qwen\/Qwen2\.5-1\.5B-Instruct.*about 3\.1 GB/);
    expect(text).toMatch(/GPU memory: about [\d.]+ GB/);
    expect(text).toContain('GRPO needs a few hundred steps before the reward rises');
    await page.screenshot({ path: 'test-results/app-welcome-1280.png' });
    await page.getByRole('button', { name: 'Got it, hide this' }).click();
    await welcome.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('tab', { name: 'Model' }).waitFor();
    expect(await welcome.count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('reaches every tab by keyboard; each panel shows with its controls labelled', async () => {
    const { page, errors } = await newPage(1280);
    // the first Tab from the page start lands on the selected tab (one tab stop for the whole list)
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.getAttribute('role') === 'tab')) break;
    }
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toMatch(/^Model/);
    for (let i = 1; i < TABS.length; i++) {
      await page.keyboard.press('ArrowDown');
      const focused = await page.evaluate(() => ({ role: document.activeElement?.getAttribute('role'), name: document.activeElement?.querySelector('.name')?.textContent, selected: document.activeElement?.getAttribute('aria-selected') }));
      expect(focused).toEqual({ role: 'tab', name: TABS[i], selected: 'true' });
      const panel = page.getByRole('tabpanel', { name: TABS[i], exact: true });
      await panel.waitFor();
      expect(await panel.getByRole('heading', { level: 2 }).first().isVisible(), TABS[i]).toBe(true);
      expect(await unlabelled(page, `panel-${IDS[i]}`), TABS[i]).toEqual([]);
      expect(await page.locator('[role=tabpanel]:not([hidden])').count()).toBe(1);
    }
    expect(page.url()).toMatch(/#gpu$/);
    await page.keyboard.press('Home');
    expect(await page.getByRole('tab', { name: 'Model' }).getAttribute('aria-selected')).toBe('true');
    expect(await unlabelled(page, 'panel-model')).toEqual([]);
    await page.keyboard.press('End');
    expect(await page.getByRole('tab', { name: 'GPU' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowDown'); // wraps around
    expect(await page.getByRole('tab', { name: 'Model' }).getAttribute('aria-selected')).toBe('true');
    // a link to a tab opens it
    await page.goto(`${server.url}/#samples`);
    await page.getByTestId('samples-list').waitFor({ state: 'attached' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fills the Countdown settings and a custom reward; a bad setting shows its message', async () => {
    const { page, errors } = await newPage(1280);
    await page.getByRole('tab', { name: 'Task & Rewards' }).click();
    const task = page.getByTestId('task-panel');
    await task.getByLabel('Fewest numbers').fill('4');
    await task.getByLabel('Seed').fill('123');
    await task.getByLabel('Prompt template').selectOption('base');
    const rows = task.getByTestId('countdown-examples').locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    for (const r of await rows.all()) expect((await r.locator('td').first().textContent())?.split(',').length).toBe(4);
    await task.getByText('Prompt the model sees for the first task').click();
    expect(await task.getByTestId('countdown-prompt').textContent()).toMatch(/^A conversation between User and Assistant[\s\S]*Using the numbers \[\d+, \d+, \d+, \d+\][\s\S]*<think>$/);
    await task.getByLabel('Most numbers').fill('3');
    expect(await task.getByTestId('countdown-error').textContent()).toMatch(/smallest count \(4\) is above the largest \(3\)/);
    await task.getByLabel('Most numbers').fill('4');

    await task.getByRole('button', { name: 'Add custom function' }).click();
    const custom = task.getByTestId('custom-reward');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toMatch(/^custom-name-/);
    await custom.getByLabel('Name').fill('countdown');
    expect(await task.getByTestId('reward-issues').textContent()).toContain('the name is taken by a built-in reward');
    await custom.getByLabel('Name').fill('brevity');
    await custom.getByTestId('custom-code').fill('(completion) => Math.max(0, 1 - completion.length / 400)');
    await custom.getByLabel('Weight of brevity').fill('0.5');
    expect(await task.getByTestId('reward-issues').count()).toBe(0);
    await task.getByLabel('Weight of countdown').fill('2');
    await page.screenshot({ path: 'test-results/app-task-filled-1280.png', fullPage: true });

    // the Train tab shows what will be trained, and validates the settings
    await page.getByRole('tab', { name: 'Train' }).click();
    const train = page.getByTestId('train-panel');
    expect((await train.textContent())?.replace(/\s+/g, ' ')).toMatch(/Countdown, 4 numbers, base template, seed 123.*countdown × 2, brevity × 0\.5/);
    await train.getByLabel('Temperature').fill('0');
    await train.getByLabel('Max grad norm').fill('');
    expect(await train.getByTestId('cfg-error-temperature').textContent()).toMatch(/temperature must be in \(0, 10\].*got 0/);
    expect(await train.getByTestId('cfg-error-maxGradNorm').textContent()).toMatch(/maxGradNorm must be ≥ 0.*got null/);
    expect(await train.getByLabel('Temperature').getAttribute('aria-invalid')).toBe('true');
    const blockers = (await train.getByTestId('train-blockers').textContent()) ?? '';
    expect(blockers).toContain('Load a model first.');
    expect(blockers).toContain('2 settings are out of range');
    expect(await page.getByTestId('start-training').isDisabled()).toBe(true);
    for (const id of ['pause-training', 'resume-training', 'stop-training']) expect(await page.getByTestId(id).isDisabled(), id).toBe(true);
    expect(await page.getByTestId('step-counter').textContent()).toMatch(/step 0 \/ 0/);
    await page.screenshot({ path: 'test-results/app-train-invalid-1280.png', fullPage: true });
    await train.getByTestId('cfg-group-sampling').screenshot({ path: 'test-results/app-train-invalid-field.png' });
    await train.getByLabel('Temperature').fill('1');
    await train.getByLabel('Max grad norm').fill('0.1');
    await expect.poll(() => train.getByTestId('train-blockers').textContent()).not.toContain('out of range');

    // settings and rewards are remembered across a reload
    await page.waitForTimeout(400);
    await page.reload();
    await page.getByRole('tab', { name: 'Task & Rewards' }).click();
    expect(await page.getByTestId('task-panel').getByLabel('Seed').inputValue()).toBe('123');
    expect(await page.getByTestId('custom-reward').getByLabel('Name').inputValue()).toBe('brevity');

    // the playground scores the custom function in the sandbox and the built-ins here
    await page.getByRole('tab', { name: 'Playground' }).click();
    await page.getByRole('button', { name: 'Generate a task' }).click();
    await page.getByRole('button', { name: 'a right answer' }).click();
    await expect.poll(() => page.getByTestId('play-result-countdown').textContent()).toMatch(/countdown\s*1\s*2\s*evaluates to/);
    await expect.poll(() => page.getByTestId('play-result-brevity').textContent(), { timeout: 10_000 }).toMatch(/brevity\s*custom\s*0\.\d+\s*0\.5\s*custom function/);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('screenshots of every panel', () => {
  it('1280×800 light', async () => {
    const { page, errors } = await newPage(1280);
    await walkTabs(page, 'app-1280', 'ArrowDown');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('1280×800 dark', async () => {
    const { page } = await newPage(1280, true);
    await walkTabs(page, 'app-dark-1280', 'ArrowDown');
    await page.close();
  });

  it('420×800 light and dark', async () => {
    const { page, errors } = await newPage(420);
    await walkTabs(page, 'app-420', 'ArrowRight');
    await page.emulateMedia({ colorScheme: 'dark' });
    await walkTabs(page, 'app-dark-420', 'ArrowRight');
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('a short run through the panels', () => {
  it('trains two steps of a tiny model from the Train tab; Dashboard and Samples follow', async () => {
    const { page, errors } = await newPage(1280);
    await page.getByRole('button', { name: 'Got it, hide this' }).click();
    const model = page.getByTestId('model-panel');
    await model.getByLabel('Local folder').check();
    await model.locator('input[type=file]').setInputFiles(join(tmp, 'tiny-qwen2'));
    await page.getByRole('button', { name: 'Load', exact: true }).click();
    await page.getByTestId('model-summary').waitFor({ timeout: 60_000 });

    await page.getByRole('tab', { name: 'Train' }).click();
    await page.getByLabel('Preset').selectOption('Tiny CI');
    await page.getByLabel('Total steps').fill('2');
    await page.getByLabel('Checkpoint every (steps)').fill('1');
    const start = page.getByTestId('start-training');
    await expect.poll(() => start.isEnabled()).toBe(true);
    await start.click();
    await expect.poll(() => page.getByTestId('training-status').textContent(), { timeout: 120_000 }).toBe('Finished');
    expect(await page.getByTestId('step-counter').textContent()).toMatch(/step 2 \/ 2/);
    await page.screenshot({ path: 'test-results/app-run-train.png', fullPage: true });

    await page.getByRole('tab', { name: 'Dashboard' }).click();
    const reward = page.getByTestId('metrics-chart-reward');
    await reward.locator('canvas').waitFor();
    expect(await reward.getByTestId('metrics-latest-reward').textContent()).toMatch(/total [\d.-]+.*countdown [\d.-]+.*\(step 2\)/s);
    await page.getByTestId('metrics-chart-memory').locator('canvas').waitFor();
    await page.waitForTimeout(200);
    await page.screenshot({ path: 'test-results/app-run-dashboard.png', fullPage: true });

    await page.getByRole('tab', { name: 'Samples' }).click();
    const samples = page.getByTestId('samples-list').getByTestId('sample');
    await expect.poll(() => samples.count()).toBeGreaterThan(0);
    expect(await samples.first().textContent()).toMatch(/step 2.*total/s);
    await page.screenshot({ path: 'test-results/app-run-samples.png', fullPage: true });

    await page.getByRole('tab', { name: 'Playground' }).click();
    await page.getByTestId('play-try-samples').click();
    await expect.poll(() => page.getByTestId('play-tried').locator('tbody tr').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
