// The residency probe of `bench --occupancy` (occupancy.ts): it runs on SwiftShader and ends its chase where
// its CPU model does (so the chain is not optimized away), and its subgroup-matrix variant compiles (null backend).
import { describe, expect, it } from 'vitest';
import { readF32 } from '../../src/gpu/buffers';
import { Recorder } from '../../src/gpu/encoder';
import { chaseTable, occupancyProbeRef, occupancyProbeSource } from '../../src/cli/bench/occupancy';
import { testGpu } from '../helpers/gpu';
import { wgslErrors } from '../helpers/wgsl-check';

describe('occupancy probe', () => {
  it('runs and matches its CPU model', async () => {
    const ctx = await testGpu();
    const [wgs, smem, iters, n] = [3, 64, 50, 32 * 2048];
    const pl = ctx.pipelines.getSync('occupancy_probe', occupancyProbeSource(false), { SMEM_VEC4: smem, ITERS: iters });
    const out = ctx.memory.create('out', wgs * 4);
    const chase = ctx.memory.upload('chase', chaseTable(n));
    const rec = new Recorder(ctx, 'probe');
    rec.dispatch(pl, null, [out, chase], [wgs]);
    rec.submit();
    const got = await readF32(ctx.device, out, wgs);
    for (let w = 0; w < wgs; w++) expect(got[w]).toBe(occupancyProbeRef(w, smem, iters, n));
    ctx.memory.destroy(out);
    ctx.memory.destroy(chase);
  });

  it('compiles with the subgroup-matrix product (null backend)', async () => {
    expect(await wgslErrors(occupancyProbeSource(true), { SMEM_VEC4: 256, ITERS: 64 })).toEqual([]);
  });
});
