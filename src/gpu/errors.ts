// Typed errors of the GPU layer. Every error carries a hint for the user and crosses the worker
// boundary as plain {name, message, hint} (see toErrorInfo).

export class TabZeroError extends Error {
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** No WebGPU in this browser/runtime, or no adapter could be had. */
export class WebGPUUnavailableError extends TabZeroError {
  override name = 'WebGPUUnavailableError';
}

/** The adapter exists but its limits are below what TabZero needs. */
export class GpuLimitsError extends TabZeroError {
  override name = 'GpuLimitsError';
}

/** The device was lost (driver reset, GPU process crash, device.destroy()). */
export class DeviceLostError extends TabZeroError {
  override name = 'DeviceLostError';
  constructor(message: string, readonly reason: string) {
    super(message, 'the GPU was reset; TabZero resumes from the last checkpoint when you start again');
  }
}

/** A buffer allocation failed (out of GPU memory, or over a limit). */
export class GpuOutOfMemoryError extends TabZeroError {
  override name = 'GpuOutOfMemoryError';
}

/** WGSL compilation, pipeline creation or a validation error. A bug in TabZero, reported with details. */
export class GpuValidationError extends TabZeroError {
  override name = 'GpuValidationError';
}

export interface ErrorInfo {
  name: string;
  message: string;
  hint: string;
}

/** Flattens any thrown value to what crosses postMessage. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof Error) {
    const hint = (e as { hint?: unknown }).hint;
    return { name: e.name, message: e.message, hint: typeof hint === 'string' ? hint : '' };
  }
  return { name: 'Error', message: String(e), hint: '' };
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${u[i]}`;
}
