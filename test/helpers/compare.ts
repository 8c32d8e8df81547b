// Relative-error comparison of kernel outputs with their references: ‖a − b‖ / ‖b‖, with the
// worst element named in the failure message. NaN anywhere (a poisoned, unwritten element) fails.
import { expect } from 'vitest';

export interface ErrorReport {
  rel: number;
  maxAbs: number;
  worst: number;
}

export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): ErrorReport {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  let num = 0;
  let den = 0;
  let maxAbs = 0;
  let worst = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    if (Number.isNaN(d)) return { rel: NaN, maxAbs: NaN, worst: i };
    num += d * d;
    den += expected[i] * expected[i];
    if (Math.abs(d) > maxAbs) { maxAbs = Math.abs(d); worst = i; }
  }
  return { rel: Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30), maxAbs, worst };
}

/** Asserts ‖actual − expected‖/‖expected‖ ≤ tol. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label = ''): ErrorReport {
  const r = relError(actual, expected);
  const where = r.worst >= 0 ? ` (worst at ${r.worst}: got ${actual[r.worst]}, want ${expected[r.worst]})` : '';
  expect(r.rel, `${label} relative error ${r.rel} > ${tol}${where}`).toBeLessThanOrEqual(tol);
  return r;
}
