// Random-fill kernel wrapper (shaders/random_fill.wgsl): pseudo-random words written straight into a
// GPU buffer (q4 codes and scales, bf16 weights) so random-weight models need no host copies.
import code from '../../shaders/random_fill.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Recorder } from '../gpu/encoder';
import { f16Range, normalScale, type RandomFill } from '../reference/random_fill';
import { ceilDiv, grid1d } from './grid';

export type { RandomFill };

const WG = 256;
const MODES: Record<RandomFill['kind'], number> = { bits: 0, 'f16-range': 1, 'bf16-normal': 2 };

export class RandomFillKernel {
  private constructor(private pipelines: Record<RandomFill['kind'], GPUComputePipeline>) {}

  static async create(ctx: GpuContext): Promise<RandomFillKernel> {
    const make = (k: RandomFill['kind']) => ctx.pipelines.get('random_fill', code, { WG, MODE: MODES[k] });
    const [bits, range, normal] = await Promise.all([make('bits'), make('f16-range'), make('bf16-normal')]);
    return new RandomFillKernel({ bits, 'f16-range': range, 'bf16-normal': normal });
  }

  /** dst u32 words [offset, offset + n) ← fill (word i of the range depends only on seed and i) */
  encode(rec: Recorder, dst: GPUBuffer, offset: number, n: number, fill: RandomFill, seed: number): void {
    if (n <= 0) return;
    const [lo, hi] = fill.kind === 'f16-range' ? f16Range(fill.lo, fill.hi) : [0, 1];
    const scale = fill.kind === 'bf16-normal' ? normalScale(fill.std) : 0;
    const u = params([['u32', n], ['u32', offset], ['u32', seed >>> 0], ['u32', lo], ['u32', hi], ['f32', scale]]);
    rec.dispatch(this.pipelines[fill.kind], u, [dst], grid1d(ceilDiv(n, WG)));
  }
}
