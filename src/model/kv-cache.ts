// The KV cache: per layer, k and v as f32[B, L, K, D] (slot-major, then position, then kv head), so
// one slot's first P positions are one contiguous range and a prompt's prefix copies to the other
// slots of its group with one copy per layer and tensor.
import type { GpuContext } from '../gpu/device';
import type { Recorder } from '../gpu/encoder';
import { formatBytes, GpuOutOfMemoryError } from '../gpu/errors';
import type { Qwen2Config } from './config';

export interface KvCache {
  /** slots (sequences) */
  B: number;
  /** positions per slot */
  L: number;
  layers: { k: GPUBuffer; v: GPUBuffer }[];
  /** floats per position of one slot: K·D */
  rowFloats: number;
  bytes: number;
}

export function kvCacheBytes(c: Qwen2Config, B: number, L: number): number {
  return 2 * c.numLayers * B * L * c.numKvHeads * c.headDim * 4;
}

export function createKvCache(ctx: GpuContext, c: Qwen2Config, B: number, L: number): KvCache {
  const rowFloats = c.numKvHeads * c.headDim;
  const per = B * L * rowFloats * 4;
  if (per > ctx.limits.maxStorageBufferBindingSize) {
    throw new GpuOutOfMemoryError(
      `the KV cache of one layer needs ${formatBytes(per)} (${B} sequences × ${L} positions), the device binds at most ${formatBytes(ctx.limits.maxStorageBufferBindingSize)}`,
      'lower the number of generations per step, prompts per step or the completion length',
    );
  }
  const layers = [];
  for (let l = 0; l < c.numLayers; l++) {
    layers.push({ k: ctx.memory.create(`kv.${l}.k`, per), v: ctx.memory.create(`kv.${l}.v`, per) });
  }
  return { B, L, layers, rowFloats, bytes: 2 * c.numLayers * per };
}

export function destroyKvCache(ctx: GpuContext, kv: KvCache): void {
  for (const l of kv.layers) { ctx.memory.destroy(l.k); ctx.memory.destroy(l.v); }
}

/**
 * Copies positions [0, P) of slot `from` to slots `to` (every layer, k and v). WebGPU cannot copy
 * within one buffer, so each prefix goes through `staging` (≥ P·K·D·4 bytes; copies run in order).
 */
export function copyPrefix(rec: Recorder, kv: KvCache, from: number, to: number[], P: number, staging: GPUBuffer): void {
  const bytes = P * kv.rowFloats * 4;
  if (staging.size < bytes) throw new Error(`copyPrefix: staging of ${staging.size} bytes < ${bytes}`);
  const src = from * kv.L * kv.rowFloats * 4;
  if (!to.length) return;
  for (const l of kv.layers) {
    for (const buf of [l.k, l.v]) {
      rec.copy(buf, src, staging, 0, bytes);
      for (const s of to) rec.copy(staging, 0, buf, s * kv.L * kv.rowFloats * 4, bytes);
    }
  }
}
