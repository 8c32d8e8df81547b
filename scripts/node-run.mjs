// Launcher for the Node entry points (`npm run bench`, `npm run cli`): bundles src/cli/main.ts,
// then runs it in a child process whose environment points Dawn at a Vulkan driver (the
// machine's GPU, else SwiftShader) — the loader reads that only when a process starts.
import { spawn } from 'node:child_process';
import { bundleNode } from './bundle.mjs';
import { gpuEnv } from './gpu-env.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/node-run.mjs <bench|cli> [args…]');
  process.exit(2);
}
const file = await bundleNode();
const env = { ...process.env, ...(await gpuEnv('auto')) };
const argv = command === 'bench' ? ['bench', ...args] : args;
const child = spawn(process.execPath, ['--enable-source-maps', file, ...argv], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
