// Seeded PRNG for task generation and shuffling: xoshiro128** (32-bit words, period 2^128 - 1),
// seeded through splitmix32. Its whole state is four u32s, saved with checkpoints and restored with
// fromState() so a resumed run draws exactly the tasks it would have drawn.

/** JSON-friendly snapshot of an Rng; `s` holds the four u32 state words. */
export interface RngState {
  algo: 'xoshiro128**';
  s: [number, number, number, number];
}

export interface Rng {
  /** uniform in [0, 1), 32 bits of resolution */
  next(): number;
  /** uniform integer in [lo, hi], both ends inclusive (like Python's randint); hi - lo < 2^32 */
  int(lo: number, hi: number): number;
  /** one element of a non-empty array, uniformly */
  pick<T>(items: readonly T[]): T;
  /** a shuffled copy (Fisher–Yates); the input is not modified */
  shuffle<T>(items: readonly T[]): T[];
  /** a copy of the current state; restoring it with fromState() replays the same draws */
  state(): RngState;
}

/** Raised for a bad seed, range or saved state. */
export class RngError extends Error {
  override name = 'RngError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

const TWO_32 = 4294967296;

function splitmix32(x: number): number {
  let t = (x + 0x9e3779b9) | 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/** Creates a generator from a safe integer seed (negative allowed); equal seeds give equal streams. */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) {
    throw new RngError(`seed ${seed} is not a safe integer`, 'pass an integer between -(2^53 - 1) and 2^53 - 1, e.g. 42');
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0;
  let x = splitmix32(lo ^ splitmix32(hi));
  const s: number[] = [];
  for (let i = 0; i < 4; i++) {
    x = splitmix32(x + i);
    s.push(x);
  }
  if (s[0] === 0 && s[1] === 0 && s[2] === 0 && s[3] === 0) s[0] = 1; // all-zero is xoshiro's one fixed point
  return makeRng(s as RngState['s']);
}

/** Restores a generator saved with rng.state(); validates the snapshot. */
export function fromState(state: RngState): Rng {
  const s: unknown = state?.s;
  if (state?.algo !== 'xoshiro128**' || !Array.isArray(s) || s.length !== 4) {
    throw new RngError(`saved RNG state is not an xoshiro128** state of 4 words (got ${JSON.stringify(state)?.slice(0, 80)})`, 'the checkpoint is corrupt or from another version; restart the task stream from its seed');
  }
  const words = s as unknown[];
  if (!words.every((w) => Number.isInteger(w) && (w as number) >= 0 && (w as number) < TWO_32)) {
    throw new RngError(`saved RNG state words must be integers in [0, 2^32), got [${words.join(', ')}]`, 'the checkpoint is corrupt; restart the task stream from its seed');
  }
  if (words.every((w) => w === 0)) {
    throw new RngError('saved RNG state is all zeros, which xoshiro128** never reaches', 'the checkpoint is corrupt; restart the task stream from its seed');
  }
  return makeRng([...words] as RngState['s']);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function makeRng(init: RngState['s']): Rng {
  let [s0, s1, s2, s3] = init;
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  const int = (lo: number, hi: number): number => {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi || hi - lo >= TWO_32) {
      throw new RngError(`rng.int(${lo}, ${hi}): needs integers lo <= hi with hi - lo < 2^32`, 'both ends are inclusive; check the bounds you pass');
    }
    const range = hi - lo + 1;
    const limit = Math.floor(TWO_32 / range) * range; // reject the top sliver so every value is equally likely
    let u = nextU32();
    while (u >= limit) u = nextU32();
    return lo + (u % range);
  };
  return {
    next: () => nextU32() / TWO_32,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RngError('rng.pick: the array is empty', 'pick from a non-empty array');
      return items[int(0, items.length - 1)];
    },
    shuffle<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
    state: () => ({ algo: 'xoshiro128**', s: [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0] }),
  };
}
