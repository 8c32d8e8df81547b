// Device acquisition in Node on a real adapter: limits, features, memory accounting, typed errors.
import { describe, expect, it } from 'vitest';
import { acquireDevice } from '../../src/gpu/device';
import { nodeGpu } from '../../src/gpu/node';
import { DeviceLostError, GpuOutOfMemoryError, GpuValidationError } from '../../src/gpu/errors';
import { testGpu } from '../helpers/gpu';

describe('device', () => {
  it('requests the adapter maximum for the limits that matter', async () => {
    const ctx = await testGpu();
    expect(ctx.limits.maxStorageBufferBindingSize).toBe(ctx.adapterLimits.maxStorageBufferBindingSize);
    expect(ctx.limits.maxComputeWorkgroupStorageSize).toBe(ctx.adapterLimits.maxComputeWorkgroupStorageSize);
    expect(typeof ctx.features.subgroups).toBe('boolean');
  });

  it('leaves optional features off when asked (fallback paths)', async () => {
    const ctx = await testGpu(['subgroups', 'shader-f16', 'timestamp-query']);
    expect(ctx.features).toMatchObject({ subgroups: false, f16: false, timestamp: false });
  });

  it('counts live and peak bytes', async () => {
    const ctx = await testGpu();
    const live0 = ctx.memory.live;
    const a = ctx.memory.create('a', 1000);
    const b = await ctx.memory.alloc('b', 4096);
    expect(ctx.memory.live - live0).toBe(1000 + 4096);
    ctx.memory.destroy(a);
    expect(ctx.memory.live - live0).toBe(4096);
    expect(ctx.memory.peak).toBeGreaterThanOrEqual(live0 + 5096);
    ctx.memory.destroy(b);
  });

  it('rejects a buffer over the device limit with numbers and a hint', async () => {
    const ctx = await testGpu();
    expect(() => ctx.memory.create('huge', ctx.limits.maxBufferSize + 4)).toThrow(GpuOutOfMemoryError);
  });

  it('reports WGSL errors as a typed error naming the kernel', async () => {
    const ctx = await testGpu();
    await expect(ctx.pipelines.get('broken', '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }')).rejects.toThrow(GpuValidationError);
    await expect(ctx.pipelines.get('broken', 'fn main() {}')).rejects.toThrow(/broken/);
  });

  it('reports a broken kernel built on demand through ctx.errors', async () => {
    const ctx = await acquireDevice(await nodeGpu());
    ctx.pipelines.getSync('broken-sync', '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }');
    await expect.poll(() => ctx.errors.length).toBeGreaterThan(0);
    expect(ctx.errors[0]).toBeInstanceOf(GpuValidationError);
    expect(ctx.errors[0].message).toMatch(/broken-sync/);
    ctx.destroy();
  });

  it('turns device loss into DeviceLostError', async () => {
    const ctx = await acquireDevice(await nodeGpu());
    let seen: DeviceLostError | null = null;
    ctx.lost.then((e) => { seen = e; });
    ctx.destroy();
    const e = await ctx.lost;
    expect(e).toBeInstanceOf(DeviceLostError);
    expect(ctx.isLost()).toBe(true);
    await Promise.resolve();
    expect(seen).toBe(e);
  });
});
