// Vitest runs every test on a real WebGPU adapter: Dawn in Node on SwiftShader (or the machine's
// GPU with TABZERO_GPU=system). The Vulkan variables must be set here, before the forks start.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { gpuEnv } from './scripts/gpu-env.mjs';

Object.assign(process.env, await gpuEnv('swiftshader'));

export default defineConfig({
  plugins: [svelte()],
  test: {
    pool: 'forks',
    // one fork per core (at most 4): SwiftShader compiles each pipeline on one thread, and compiling
    // is most of a kernel test's time; vitest's default (cores − 1) runs the files one at a time on a
    // 2-core machine (the 2-core dev container, 2026-12-06: three kernel files 63 s one at a time,
    // 41 s in two forks; the whole suite 18.6–19.0 min → 13.7 min)
    maxWorkers: Math.min(4, availableParallelism()),
    include: ['test/**/*.test.ts'],
    // a safety net, not a speed check: in two forks the browser journey took 115 s and the cold GEMV
    // sweep 103 s on that machine
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
