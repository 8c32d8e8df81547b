// The f16 multiply-add probes of `bench --fma-peak` (fma-peak.ts) compile (Dawn's null backend: SwiftShader has no shader-f16).
import { describe, expect, it } from 'vitest';
import { FMA16, lut4 } from '../../src/cli/bench/fma-peak';
import { wgslErrors } from '../helpers/wgsl-check';

describe('fma-peak f16 probes', () => {
  it('compile with shader-f16', async () => {
    expect(await wgslErrors(FMA16, { ITERS: 64 })).toEqual([]);
    for (const f16 of [false, true]) for (const [mr, nr] of [[8, 1], [16, 4]]) expect(await wgslErrors(lut4(mr, nr, f16), { ITERS: 64 })).toEqual([]);
  });
  it('reports a broken shader', async () => {
    expect((await wgslErrors('@compute @workgroup_size(1) fn main() { let a = bogus; }')).join()).toMatch(/bogus/);
  });
});
