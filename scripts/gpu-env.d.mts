// Types for gpu-env.mjs (used by vitest.config.ts).
export function ensureSwiftShader(): Promise<string>;
export function hasSystemVulkan(): boolean;
export function gpuEnv(mode?: 'auto' | 'system' | 'swiftshader'): Promise<Record<string, string>>;
