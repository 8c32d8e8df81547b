// Dispatch grids stay within the per-dimension limit and cover every workgroup.
import { describe, expect, it } from 'vitest';
import { grid1d } from '../../src/kernels/grid';

describe('grid1d', () => {
  it('is 1-D up to the limit and 2-D beyond, covering n', () => {
    expect(grid1d(0)).toEqual([1, 1]);
    expect(grid1d(65535)).toEqual([65535, 1]);
    for (const n of [65536, 200_000, 65535 * 3 + 1]) {
      const [x, y] = grid1d(n);
      expect(x).toBeLessThanOrEqual(65535);
      expect(x * y).toBeGreaterThanOrEqual(n);
      expect(x * (y - 1)).toBeLessThan(n);
    }
  });
});
