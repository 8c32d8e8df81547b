// GPU status shown by the app: probing → ready (adapter, features, limits, self-tests) or error.
// The engine worker owns the training device; the window also runs the self-test once, so a
// browser where WebGPU works only in one of the two is caught early.
import type { WorkerClient } from '../worker-client';
import type { GpuInfo } from '../../worker/protocol';
import { toErrorInfo, type ErrorInfo } from '../../gpu/errors';
import { acquireDevice, browserGpu } from '../../gpu/device';
import { gpuSelfTest } from '../../worker/selftest';

export class GpuState {
  status = $state<'probing' | 'ready' | 'error'>('probing');
  info = $state<GpuInfo | null>(null);
  windowSelfTest = $state<{ ok: boolean; relError: number; ms: number } | null>(null);
  error = $state<ErrorInfo | null>(null);

  constructor(private client: WorkerClient) {}

  async probe(): Promise<void> {
    this.status = 'probing';
    this.error = null;
    try {
      browserGpu(); // fails fast with a hint when this browser has no WebGPU at all
      const ev = await this.client.request({ type: 'probe' }, 'gpu-info');
      this.info = ev.info;
      this.status = 'ready';
      this.windowSelfTest = await this.selfTestInWindow();
    } catch (e) {
      this.error = toErrorInfo(e);
      this.status = 'error';
    }
  }

  private async selfTestInWindow(): Promise<{ ok: boolean; relError: number; ms: number }> {
    const ctx = await acquireDevice(browserGpu());
    try {
      return await gpuSelfTest(ctx);
    } finally {
      ctx.destroy();
    }
  }
}
