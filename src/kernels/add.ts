// Elementwise add wrapper (shaders/add.wgsl) for residual streams: y = a + alpha·b, or y += alpha·b.
import code from '../../shaders/add.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { ceilDiv, grid1d } from './grid';

export class AddKernel {
  private constructor(private add: GPUComputePipeline, private acc: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<AddKernel> {
    const [add, acc] = await Promise.all([ctx.pipelines.get('add', code, {}, 'main'), ctx.pipelines.get('add', code, {}, 'accumulate')]);
    return new AddKernel(add, acc);
  }

  /** a f32[n], b f32[n] → y f32[n] = a + alpha·b (y must not alias a or b: use encodeInPlace) */
  encode(rec: Recorder, a: Binding, b: Binding, y: Binding, n: number, alpha = 1): void {
    rec.dispatch(this.add, params([['u32', n], ['f32', alpha]]), [a, b, y], grid1d(ceilDiv(n, 256)));
  }

  /** y f32[n] += alpha · b f32[n] */
  encodeInPlace(rec: Recorder, y: Binding, b: Binding, n: number, alpha = 1): void {
    rec.dispatch(this.acc, params([['u32', n], ['f32', alpha]]), [null, b, y], grid1d(ceilDiv(n, 256)));
  }
}
