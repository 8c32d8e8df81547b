// Weights fingerprints: the same bytes in any tensor order give the same print; a change anywhere a
// window samples, or in a name / dtype / shape, gives another; random models print config and seed.
import { describe, expect, it } from 'vitest';
import { randomFingerprint, WeightsFingerprint } from '../../src/model/fingerprint';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; b[i] = s >>> 24; }
  return b;
}

async function print(tensors: [string, string, number[], Uint8Array][]): Promise<string> {
  const f = new WeightsFingerprint();
  for (const [n, d, s, b] of tensors) f.add(n, d, s, b);
  return f.digest();
}

describe('weights fingerprint', () => {
  const a = bytes(100_000, 1);
  const b = bytes(300, 2);
  const base: [string, string, number[], Uint8Array][] = [['w.a', 'BF16', [250, 200], a], ['w.b', 'F32', [75], b]];

  it('is stable and independent of tensor order', async () => {
    const p = await print(base);
    expect(p).toMatch(/^w1-[0-9a-f]{16}$/);
    expect(await print([...base].reverse())).toBe(p);
  });

  it('changes with sampled bytes (start, middle, end, small tensors whole), names, dtypes and shapes', async () => {
    const p = await print(base);
    for (const at of [0, 50_000 - 1000, 99_999]) {
      const c = a.slice();
      c[at] ^= 1;
      expect(await print([['w.a', 'BF16', [250, 200], c], base[1]]), `byte ${at}`).not.toBe(p);
    }
    const small = b.slice();
    small[150] ^= 1;
    expect(await print([base[0], ['w.b', 'F32', [75], small]])).not.toBe(p);
    expect(await print([['w.A', 'BF16', [250, 200], a], base[1]])).not.toBe(p);
    expect(await print([['w.a', 'F16', [250, 200], a], base[1]])).not.toBe(p);
    expect(await print([['w.a', 'BF16', [200, 250], a], base[1]])).not.toBe(p);
  });

  it('random models: by config, seed and formats', async () => {
    const cfg = { hiddenSize: 64, numLayers: 2 };
    const p = await randomFingerprint(cfg, 1, 'q4/bf16');
    expect(await randomFingerprint({ ...cfg }, 1, 'q4/bf16')).toBe(p);
    expect(await randomFingerprint(cfg, 2, 'q4/bf16')).not.toBe(p);
    expect(await randomFingerprint({ ...cfg, numLayers: 3 }, 1, 'q4/bf16')).not.toBe(p);
    expect(await randomFingerprint(cfg, 1, 'bf16/bf16')).not.toBe(p);
  });
});
