// Vitest runs every test on a real WebGPU adapter: Dawn in Node on SwiftShader (or the machine's
// GPU with TABZERO_GPU=system). The Vulkan variables must be set here, before the forks start.
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { gpuEnv } from './scripts/gpu-env.mjs';

Object.assign(process.env, await gpuEnv('swiftshader'));

export default defineConfig({
  plugins: [svelte()],
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
