// Embedding gather wrapper (shaders/embed.wgsl): out f32[T, C] = E[ids] for a bf16 or i8 `Weight`
// (src/kernels/matmul.ts), one dispatch per row part. ids are validated on the CPU before upload
// (checkIds); an id outside [0, V) that slips through yields a NaN row, never a clamped one.
import code from '../../shaders/embed.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import type { Weight } from './matmul';
import { grid1d } from './grid';

const FORMAT = { bf16: 0, i8: 1 } as const;

export class EmbedKernel {
  private constructor(private pipelines: Record<'bf16' | 'i8', GPUComputePipeline>, private dummy: GPUBuffer) {}

  static async create(ctx: GpuContext): Promise<EmbedKernel> {
    const [bf16, i8] = await Promise.all([
      ctx.pipelines.get('embed', code, { WG: 256, FORMAT: FORMAT.bf16 }),
      ctx.pipelines.get('embed', code, { WG: 256, FORMAT: FORMAT.i8 }),
    ]);
    return new EmbedKernel({ bf16, i8 }, ctx.memory.create('embed.unused', 16));
  }

  /** ids i32[T], E [V, C] (bf16 or i8, any number of row parts) → out f32[T, C] */
  encode(rec: Recorder, ids: Binding, e: Weight, out: Binding, T: number): void {
    if (e.format !== 'bf16' && e.format !== 'i8') {
      throw new Error(`embed reads bf16 or i8 embeddings, got ${e.format}; hint: upload the embedding as bf16 or i8 (q4 is for linears)`);
    }
    const pipeline = this.pipelines[e.format];
    for (const part of e.parts) {
      const u = params([['u32', T], ['u32', e.K], ['u32', part.rowOffset], ['u32', part.rows], ['u32', e.N]]);
      rec.dispatch(pipeline, u, [ids, part.data, part.scales ?? this.dummy, out], grid1d(T));
    }
  }
}

/** Throws when an id is outside [0, V): run on the CPU before ids are uploaded. */
export function checkIds(ids: ArrayLike<number>, V: number): void {
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t];
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new RangeError(`token id ${id} at position ${t} is outside the vocabulary [0, ${V}); hint: the tokenizer and the model do not match`);
    }
  }
}
