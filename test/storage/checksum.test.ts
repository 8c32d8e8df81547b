// checksum32: deterministic, sensitive to every byte, independent of alignment.
import { describe, expect, it } from 'vitest';
import { checksum32 } from '../../src/storage/checksum';

describe('checksum32', () => {
  it('is the FNV-1a offset basis for no bytes and is an unsigned 32-bit value', () => {
    expect(checksum32(new Uint8Array(0))).toBe(0x811c9dc5);
    const v = checksum32(new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
    expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
  });

  it('changes when any single bit of a 37-byte buffer flips (words and tail)', () => {
    const bytes = new Uint8Array(37).map((_, i) => (i * 31 + 7) & 255);
    const base = checksum32(bytes);
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const c = bytes.slice();
        c[i] ^= 1 << bit;
        expect(checksum32(c), `byte ${i} bit ${bit}`).not.toBe(base);
      }
    }
  });

  it('gives the same result for an unaligned view as for an aligned copy', () => {
    const big = new Uint8Array(103).map((_, i) => (i * 13) & 255);
    const view = big.subarray(3, 3 + 70);
    expect(checksum32(view)).toBe(checksum32(view.slice()));
  });

  it('depends on order (swapping two words changes it)', () => {
    const a = new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]);
    const b = new Uint8Array([2, 0, 0, 0, 1, 0, 0, 0]);
    expect(checksum32(a)).not.toBe(checksum32(b));
  });
});
