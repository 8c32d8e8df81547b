// The weight cache's Node-visible behaviour: no OPFS here → WeightCache.open() is null (loads then
// stream uncached), and the free-space check's message and hint. OPFS itself is exercised by the
// browser test (test/browser/model.test.ts: download, reload, load again with no request).
import { describe, expect, it } from 'vitest';
import { assertFreeSpace, WeightCache } from '../../src/storage/weight-cache';

describe('weight cache', () => {
  it('is unavailable without OPFS', async () => {
    expect(await WeightCache.open()).toBeNull();
  });

  it('refuses a download larger than the free storage: how much is needed and free, and what to do', () => {
    expect(() => assertFreeSpace(100, { quota: 1000, free: 200 }, 'x')).not.toThrow();
    expect(() => assertFreeSpace(100, null, 'x')).not.toThrow();
    expect(() => assertFreeSpace(3 * 1024 ** 3, { quota: 10 * 1024 ** 3, free: 1024 ** 3 }, 'downloading Qwen/Qwen2.5-1.5B-Instruct')).toThrow(expect.objectContaining({
      name: 'CacheSpaceError',
      message: 'downloading Qwen/Qwen2.5-1.5B-Instruct needs 3.00 GiB of browser storage, but only 1.00 GiB is free (quota 10.0 GiB)',
      hint: expect.stringContaining('load the model from a local folder'),
    }));
  });
});
