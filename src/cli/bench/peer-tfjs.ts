// The same-process peer: @tensorflow/tfjs-backend-webgpu's f32 matMul on our own GPUDevice.
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { GpuContext } from '../../gpu/device';
import { timeAsync, type Timing } from './timing';

let ready: Promise<void> | null = null;

export function useTfjsOn(ctx: GpuContext): Promise<void> {
  ready ??= (async () => {
    const info = { vendor: ctx.adapter.vendor, architecture: ctx.adapter.architecture } as GPUAdapterInfo;
    tf.registerBackend('tabzero-webgpu', () => new WebGPUBackend(ctx.device, info));
    await tf.setBackend('tabzero-webgpu');
    await tf.ready();
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
