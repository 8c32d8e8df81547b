// Dispatch-size helpers shared by kernel wrappers.

/** A 1-D count of workgroups as a 2-D grid within the 65,535-per-dimension limit. */
export function grid1d(n: number, maxPerDim = 65535): [number, number] {
  if (n <= maxPerDim) return [Math.max(1, n), 1];
  const y = Math.ceil(n / maxPerDim);
  return [Math.ceil(n / y), y];
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
