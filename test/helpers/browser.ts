// Headless Chromium with WebGPU for browser tests, driven by playwright-core: a system
// Chrome/Chromium when present (CHROME_PATH, /usr/bin/chromium, …), else the one inside
// @sparticuz/chromium (unpacked on first use; no download). WebGPU runs on SwiftShader.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { resolve } from 'node:path';

const SYSTEM = [process.env.CHROME_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

const COMMON = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,WebGPU',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--no-sandbox',
];

export async function launchBrowser(): Promise<Browser> {
  const system = SYSTEM.find((p) => p && existsSync(p));
  if (system) return chromium.launch({ executablePath: system, headless: true, args: COMMON });
  const sparticuz = (await import('@sparticuz/chromium')).default;
  sparticuz.setGraphicsMode = true;
  const executablePath = await sparticuz.executablePath();
  const args = sparticuz.args.filter((a) => !a.startsWith('--headless') && a !== '--single-process');
  return chromium.launch({ executablePath, headless: true, args: [...args, ...COMMON] });
}

/** Builds the app once per test process into .cache/test-dist and returns that folder. */
let built: Promise<string> | null = null;
export function buildApp(): Promise<string> {
  built ??= (async () => {
    const outDir = resolve('.cache/test-dist');
    await build({ logLevel: 'warn', build: { outDir, emptyOutDir: true, sourcemap: false } });
    return outDir;
  })();
  return built;
}

/** Collects console errors and page errors; tests assert the list stays empty. `ignore` skips expected ones (by text and resource URL). */
export function watchConsole(page: Page, ignore?: (text: string, url: string) => boolean): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' && !ignore?.(m.text(), m.location().url)) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}
