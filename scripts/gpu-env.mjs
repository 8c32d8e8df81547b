// Where Dawn (the `webgpu` npm package) finds a Vulkan driver in Node. The Vulkan loader reads
// these variables when a process starts, so the parent sets them before it spawns the process
// that loads Dawn (vitest's forks, the CLI). No GPU here → SwiftShader, unpacked once from
// @sparticuz/chromium into node_modules/.cache (no apt, no download). See DESIGN.md §5.
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createBrotliDecompress } from 'node:zlib';
import { pipeline } from 'node:stream/promises';

// The project root: npm scripts and vitest run from it (vitest bundles its config, so
// import.meta.url would point into node_modules/.vite-temp).
const root = resolve(process.env.TABZERO_ROOT ?? process.cwd());
const require = createRequire(join(root, 'package.json'));

/** Unpacks SwiftShader (libvulkan + ICD) once; returns its folder. */
export async function ensureSwiftShader() {
  const pkgDir = join(root, 'node_modules', '@sparticuz', 'chromium');
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const dir = join(root, 'node_modules', '.cache', 'tabzero', `swiftshader-${version}`);
  if (existsSync(join(dir, 'vk_swiftshader_icd.json'))) return dir;
  const { extract } = require('tar-fs');
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  await pipeline(createReadStream(join(pkgDir, 'bin', 'swiftshader.tar.br')), createBrotliDecompress(), extract(tmp));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir); // atomic: a half-unpacked folder is never mistaken for a finished one
  return dir;
}

/** True when the machine has a Vulkan driver of its own (other than Mesa's lavapipe, which Dawn rejects). */
export function hasSystemVulkan() {
  if (process.env.VK_DRIVER_FILES || process.env.VK_ICD_FILENAMES) return true;
  for (const d of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']) {
    if (!existsSync(d)) continue;
    if (readdirSync(d).some((f) => f.endsWith('.json') && !f.startsWith('lvp'))) return true;
  }
  return false;
}

/**
 * Environment for a child process that loads Dawn. mode: 'swiftshader' (tests, the default for CI),
 * 'system' (the machine's driver) or 'auto' (system when present, else SwiftShader).
 * TABZERO_GPU overrides the mode.
 */
export async function gpuEnv(mode = 'auto') {
  mode = process.env.TABZERO_GPU || mode;
  if (mode === 'system' || (mode === 'auto' && hasSystemVulkan())) return { TABZERO_GPU_DRIVER: 'system' };
  const dir = await ensureSwiftShader();
  const ld = process.env.LD_LIBRARY_PATH ? `${dir}:${process.env.LD_LIBRARY_PATH}` : dir;
  return {
    TABZERO_GPU_DRIVER: 'swiftshader',
    LD_LIBRARY_PATH: ld,
    VK_ICD_FILENAMES: join(dir, 'vk_swiftshader_icd.json'),
    VK_DRIVER_FILES: join(dir, 'vk_swiftshader_icd.json'),
  };
}
