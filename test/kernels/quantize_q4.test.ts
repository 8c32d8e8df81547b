// Quantize-at-load kernel vs quantizeQ4 (the CPU reference) on the same values: codes and f16 scales
// compared bit for bit, for F32, BF16 and F16 inputs, odd shapes, extreme magnitudes (subnormal
// and overflowing scales, zeros), exact ties, another codebook, and writes at a row offset.
import { describe, expect, it } from 'vitest';
import { QuantizeQ4Kernel, codebookTable, type RawFloatDtype } from '../../src/kernels/quantize_q4';
import { placeRowsQ4, quantizeQ4Ref } from '../../src/reference/quantize_q4';
import { NF4_CODEBOOK, f32ToF16Bits, scaleStride } from '../../src/formats/q4';
import { readBuffer } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import type { GpuContext } from '../../src/gpu/device';
import { testGpu } from '../helpers/gpu';
import { normal, rng } from '../helpers/random';

/** f32 values → raw little-endian bytes of dtype (BF16 by truncation: any bits are valid inputs) */
function rawBytes(w: Float32Array, dtype: RawFloatDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(w.buffer.slice(0));
  const u = new Uint16Array(w.length);
  const bits = new Uint32Array(w.buffer);
  for (let i = 0; i < w.length; i++) u[i] = dtype === 'BF16' ? bits[i] >>> 16 : f32ToF16Bits(w[i]);
  return new Uint8Array(u.buffer);
}

/** Gaussian weights with a per-block magnitude spread over 10^lo .. 10^hi */
function spread(seed: number, n: number, lo: number, hi: number): Float32Array {
  const w = normal(seed, n);
  const r = rng(seed + 1);
  for (let b = 0; b < n; b += 64) {
    const m = 10 ** (lo + (hi - lo) * r());
    for (let i = b; i < Math.min(n, b + 64); i++) w[i] *= m;
  }
  return w;
}

interface Run { codes: Uint32Array; scales: Uint16Array }

async function quantizeOnGpu(ctx: GpuContext, raw: Uint8Array, dtype: RawFloatDtype, rows: number, K: number, dstRows: number, dstRow: number, codebook = NF4_CODEBOOK): Promise<Run> {
  const k = await QuantizeQ4Kernel.create(ctx);
  const src = ctx.memory.upload('src', raw);
  const data = ctx.memory.upload('codes', new Uint32Array((dstRows * K) / 8).fill(0xdeadbeef));
  const scales = ctx.memory.upload('scales', new Uint32Array((dstRows * scaleStride(K)) / 2).fill(0xabcdabcd));
  const table = ctx.memory.upload('table', codebookTable(codebook));
  const before = ctx.errors.length;
  const rec = new Recorder(ctx, 'test');
  k.encode(rec, src, dtype, rows, K, { data, scales, rows: dstRows }, dstRow, table);
  rec.submit();
  const out = { codes: new Uint32Array(await readBuffer(ctx.device, data)), scales: new Uint16Array(await readBuffer(ctx.device, scales)) };
  if (ctx.errors.length > before) throw ctx.errors[before];
  [src, data, scales, table].forEach((b) => ctx.memory.destroy(b));
  return out;
}

function expected(raw: Uint8Array, dtype: RawFloatDtype, rows: number, K: number, dstRows: number, dstRow: number, codebook = NF4_CODEBOOK): Run {
  const dst = { codes: new Uint32Array((dstRows * K) / 8).fill(0xdeadbeef), scales: new Uint16Array(dstRows * scaleStride(K)).fill(0xabcd) };
  placeRowsQ4(dst, quantizeQ4Ref(raw, dtype, rows, K, codebook), dstRow);
  return dst;
}

function expectSameBits(got: Run, want: Run, label: string): void {
  const firstDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).findIndex((v, i) => v !== b[i]);
  const c = firstDiff(got.codes, want.codes);
  expect(c, `${label}: code word ${c} is ${got.codes[c]?.toString(16)}, want ${want.codes[c]?.toString(16)}`).toBe(-1);
  const s = firstDiff(got.scales, want.scales);
  expect(s, `${label}: scale ${s} is ${got.scales[s]?.toString(16)}, want ${want.scales[s]?.toString(16)}`).toBe(-1);
}

const CASES: Array<{ name: string; dtype: RawFloatDtype; rows: number; K: number; lo?: number; hi?: number; dstRows?: number; dstRow?: number }> = [
  { name: 'BF16 odd rows=7 K=160', dtype: 'BF16', rows: 7, K: 160 },
  { name: 'BF16 one word rows=1 K=8', dtype: 'BF16', rows: 1, K: 8 },
  { name: 'BF16 one block per row (padded scale word) rows=9 K=64', dtype: 'BF16', rows: 9, K: 64 },
  { name: 'F32 partial last block rows=5 K=200, magnitudes 1e-9..1e5', dtype: 'F32', rows: 5, K: 200, lo: -9, hi: 5 },
  { name: 'F16 rows=6 K=72, magnitudes 1e-7..1e3', dtype: 'F16', rows: 6, K: 72, lo: -7, hi: 3 },
  { name: 'BF16 at row offset 3 of a 13-row part, K=136', dtype: 'BF16', rows: 7, K: 136, dstRows: 13, dstRow: 3 },
  { name: 'F32 more segments than one workgroup: rows=3 K=1032', dtype: 'F32', rows: 3, K: 1032 },
  { name: 'BF16 Qwen2.5-1.5B row length rows=4 K=1536', dtype: 'BF16', rows: 4, K: 1536, lo: -3, hi: -1 },
];

describe('quantize_q4', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const ctx = await testGpu();
      const n = c.rows * c.K;
      const w = c.lo !== undefined ? spread(n + c.K, n, c.lo, c.hi ?? 0) : normal(n + c.K, n, 0.02);
      const raw = rawBytes(w, c.dtype);
      const dstRows = c.dstRows ?? c.rows;
      const dstRow = c.dstRow ?? 0;
      const got = await quantizeOnGpu(ctx, raw, c.dtype, c.rows, c.K, dstRows, dstRow);
      expectSameBits(got, expected(raw, c.dtype, c.rows, c.K, dstRows, dstRow), c.name);
    });
  }

  it('zero blocks, signed zeros, f32 subnormals, f16 rounding ties and scales beyond the f16 range', async () => {
    const ctx = await testGpu();
    const K = 128;
    const w = normal(3, 6 * K, 0.1);
    w.fill(0, 0, 64); // an all-zero block
    w[64] = -0; w[65] = 1e-45; w[66] = -3e-39; // subnormal f32s in a block of normal weights
    w.fill(2e-40, 128, 192); // a block of subnormals only (scale rounds to f16 zero)
    w[200] = 1e6; // absmax over 65504: the scale is f16 infinity
    w[300] = 7e-6; w.fill(3e-6, 301, 320); // an f16-subnormal scale
    // absmax exactly halfway between two f16 values: round to even (down, up, subnormal down, up)
    w.fill(2 ** -30, 384, 640);
    [1 + 2 ** -11, 1 + 3 * 2 ** -11, 1.5 * 2 ** -24, 2.5 * 2 ** -24].forEach((a, i) => { w[384 + 64 * i] = -a; w[385 + 64 * i] = a / 3; });
    const raw = rawBytes(w, 'F32');
    expectSameBits(await quantizeOnGpu(ctx, raw, 'F32', 6, K, 6, 0), expected(raw, 'F32', 6, K, 6, 0), 'extremes');
  });

  it('exact ties between two codes go to the smaller value, as in quantizeQ4', async () => {
    const ctx = await testGpu();
    const K = 64;
    const cb = NF4_CODEBOOK;
    const sorted = Array.from(cb).sort((a, b) => a - b);
    const ties = sorted.slice(1).map((v, i) => (v + sorted[i]) / 2).filter((m) => Math.fround(m) === m);
    expect(ties.length).toBeGreaterThan(2);
    const w = new Float32Array(K);
    w[0] = 1; // scale exactly 1: w / scale is exact, so the tie is exact on both sides
    ties.forEach((m, i) => { w[1 + i] = m; w[1 + ties.length + i] = Math.fround(m + 2 ** -30); });
    const raw = rawBytes(w, 'F32');
    expectSameBits(await quantizeOnGpu(ctx, raw, 'F32', 1, K, 1, 0), expected(raw, 'F32', 1, K, 1, 0), 'ties');
  });

  it('another codebook (linear, with a repeated value) gives quantizeQ4 bits too', async () => {
    const ctx = await testGpu();
    const lin = Float32Array.from({ length: 16 }, (_, i) => Math.max(-1, (i - 8) / 7));
    const [rows, K] = [5, 96];
    const raw = rawBytes(normal(8, rows * K), 'BF16');
    expectSameBits(await quantizeOnGpu(ctx, raw, 'BF16', rows, K, rows, 0, lin), expected(raw, 'BF16', rows, K, rows, 0, lin), 'linear');
  });

  it('rejects a write past the end of the destination part', async () => {
    const ctx = await testGpu();
    const k = await QuantizeQ4Kernel.create(ctx);
    const b = ctx.memory.create('b', 4096);
    expect(() => k.encode(new Recorder(ctx), b, 'BF16', 4, 64, { data: b, scales: b, rows: 5 }, 2, b)).toThrow(/rows \[2, 6\) do not fit a destination part of 5 rows/);
    ctx.memory.destroy(b);
  });
});
