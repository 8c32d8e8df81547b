// Copy kernel wrapper (shaders/copy.wgsl): the memory-bandwidth roofline for benchmarks.
import code from '../../shaders/copy.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

const ITEMS = 4;

export class CopyKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<CopyKernel> {
    return new CopyKernel(await ctx.pipelines.get('copy', code, { ITEMS }));
  }

  /** src f32[n] → dst f32[n]; n must be a multiple of 4 */
  encode(rec: Recorder, src: Binding, dst: Binding, n: number): void {
    if (n % 4) throw new Error(`copy needs a multiple of 4 floats, got ${n}`);
    const n4 = n / 4;
    const [gx, gy] = grid1d(ceilDiv(n4, 256 * ITEMS));
    rec.dispatch(this.pipeline, params([['u32', n4], ['u32', gx * gy * 256]]), [src, dst], [gx, gy]);
  }
}
