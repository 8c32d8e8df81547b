// Builds the test-only pages in test/browser/pages/ (never part of the app) with the app's Vite
// config (Svelte plugin), once per test process, into .cache/test-pages/<pid> (test files run in
// parallel processes; folders of processes that are gone are removed first); serve it with serveStatic.
import { build } from 'vite';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

let built: Promise<string> | null = null;

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
}

/** Returns the output folder; pages are at /test/browser/pages/<name>.html under it. */
export function buildTestPages(): Promise<string> {
  built ??= (async () => {
    const root = resolve('.cache/test-pages');
    for (const d of (existsSync(root) ? readdirSync(root, { withFileTypes: true }) : []).filter((e) => e.isDirectory())) {
      if (!alive(Number(d.name))) rmSync(resolve(root, d.name), { recursive: true, force: true });
    }
    const outDir = resolve(root, String(process.pid));
    await build({
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, sourcemap: false, rollupOptions: { input: { adapters: resolve('test/browser/pages/adapters.html'), panels: resolve('test/browser/pages/panels.html'), sandbox: resolve('test/browser/pages/sandbox.html') } } },
    });
    return outDir;
  })();
  return built;
}
