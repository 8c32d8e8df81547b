// Limits policy: request the adapter's maximum, report what is too small with numbers.
import { describe, expect, it } from 'vitest';
import { MIN_LIMITS, checkLimits, requestedLimits } from '../../src/gpu/limits';
import { browserGpu } from '../../src/gpu/device';
import { WebGPUUnavailableError } from '../../src/gpu/errors';

describe('limits', () => {
  it('requests every limit at the adapter maximum', () => {
    const adapter = { ...MIN_LIMITS, maxStorageBufferBindingSize: 2 ** 31, maxTextureDimension2D: 8192 };
    const r = requestedLimits(adapter);
    expect(r.maxStorageBufferBindingSize).toBe(2 ** 31);
    expect(r.maxTextureDimension2D).toBeUndefined();
  });
  it('names each too-small limit', () => {
    const p = checkLimits({ ...MIN_LIMITS, maxComputeWorkgroupStorageSize: 8192, maxStorageBuffersPerShaderStage: 4 });
    expect(p.map((x) => x.limit)).toEqual(['maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage']);
    expect(p[0]).toMatchObject({ have: 8192, need: 16384 });
    expect(checkLimits(MIN_LIMITS)).toEqual([]);
  });
  it('explains a missing navigator.gpu', () => {
    expect(() => browserGpu()).toThrow(WebGPUUnavailableError);
  });
});
