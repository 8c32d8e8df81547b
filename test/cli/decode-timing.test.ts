// bench-rollout's loop timing (src/cli/bench/decode-timing.ts): where the decode loop's largest stalls fall.
import { describe, expect, it } from 'vitest';
import { worstGapSteps } from '../../src/cli/bench/decode-timing';

describe('worstGapSteps', () => {
  it('names the steps after the largest gaps, largest first (gaps[i] comes before step first + 1 + i)', () => {
    expect(worstGapSteps([0.03, 110, 0.02, 5, 0.03], 3, 2)).toEqual([4, 6, 3]);
    expect(worstGapSteps([1], 3, 2)).toEqual([3]);
    expect(worstGapSteps([], 3, 2)).toEqual([]);
  });
});
