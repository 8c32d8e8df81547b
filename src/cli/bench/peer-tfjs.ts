// The same-process peer: @tensorflow/tfjs-backend-webgpu's f32 matMul on our own GPUDevice.
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GpuContext } from '../../gpu/device';
import { timeAsync, type Timing } from './timing';

let ready: Promise<void> | null = null;

export function useTfjsOn(ctx: GpuContext): Promise<void> {
  ready ??= (async () => {
    const info = { vendor: ctx.adapter.vendor, architecture: ctx.adapter.architecture } as GPUAdapterInfo;
    // tfjs checks navigator.gpu before it accepts a device; Node 20 has no navigator
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: {} }, configurable: true });
    // kernels are registered for the backend name 'webgpu'; in Node nothing registered it at import
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new WebGPUBackend(ctx.device, info), 10);
    if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') {
      throw new Error(`tfjs did not start its WebGPU backend on our device (it is on "${tf.getBackend()}"); the peer numbers would be CPU numbers`);
    }
  })();
  return ready;
}

/** y = x·Wᵀ with x [M, K], W [N, K] in f32; `iters` matmuls chained, then one readback. */
export async function timeTfjsMatmul(ctx: GpuContext, M: number, N: number, K: number, iters: number): Promise<Timing> {
  await useTfjsOn(ctx);
  const x = tf.randomNormal([M, K]);
  const w = tf.randomNormal([N, K], 0, 0.05);
  const batch = async () => {
    const outs: tf.Tensor[] = [];
    for (let i = 0; i < iters; i++) outs.push(tf.matMul(x, w, false, true));
    const probe = tf.slice(outs[outs.length - 1], [0, 0], [1, 1]);
    await probe.data(); // forces submission and completion of the whole chain (reads back 4 bytes)
    probe.dispose();
    outs.forEach((o) => o.dispose());
  };
  const t = await timeAsync(batch, 1);
  x.dispose();
  w.dispose();
  return { ms: t.ms / iters, iters };
}
