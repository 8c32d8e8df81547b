// LM-head log-probs and their backward, walking the vocabulary in chunks (shaders/lm_logprob*.wgsl):
// per chunk, logits = hidden · E_chunkᵀ (the matmul kernel on a row view of the head), then an
// online log-sum-exp update; backward recomputes each chunk, turns it into dlogits in place and adds
// dlogits · E_chunk to dhidden. At most one chunk of logits [M, CH] exists at a time.
import fwdCode from '../../shaders/lm_logprob.wgsl?raw';
import bwdCode from '../../shaders/lm_logprob_backward.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { weightRows, type MatmulKernel, type SplitK, type Weight } from './matmul';
import { ceilDiv, grid1d } from './grid';

export interface LogprobBuffers {
  /** f32[M, C] final normed hidden states */
  hidden: Binding;
  /** i32[M] token whose log-prob row m scores */
  targets: Binding;
  /** outputs f32[M] */
  logp: Binding;
  lse: Binding;
  entropy: Binding;
}

export class LmLogprobKernel {
  private state: GPUBuffer | null = null;
  private chunkBuf: GPUBuffer | null = null;
  private constructor(private ctx: GpuContext, private matmul: MatmulKernel, private pl: { update: GPUComputePipeline; finish: GPUComputePipeline; bwd: GPUComputePipeline }, readonly chunk: number) {}

  /** chunk: vocabulary rows per step (a multiple of 64) */
  static async create(ctx: GpuContext, matmul: MatmulKernel, chunk = 8192): Promise<LmLogprobKernel> {
    if (chunk % 64) throw new Error(`lm_logprob chunk must be a multiple of 64, got ${chunk}`);
    const [update, finish, bwd] = await Promise.all([
      ctx.pipelines.get('lm_logprob', fwdCode, {}, 'update'),
      ctx.pipelines.get('lm_logprob', fwdCode, {}, 'finish'),
      ctx.pipelines.get('lm_logprob_backward', bwdCode),
    ]);
    return new LmLogprobKernel(ctx, matmul, { update, finish, bwd }, chunk);
  }

  /** logp, lse, entropy f32[M] of targets under softmax(hidden · headᵀ / temperature) */
  encode(rec: Recorder, head: Weight, M: number, temperature: number, b: LogprobBuffers): void {
    const { state, chunk } = this.buffers(M, head.N);
    for (let v0 = 0, i = 0; v0 < head.N; v0 += this.chunk, i++) {
      const CH = Math.min(this.chunk, head.N - v0);
      this.matmul.encode(rec, b.hidden, weightRows(head, v0, v0 + CH), chunk, M);
      const u = params([['u32', M], ['u32', CH], ['u32', v0], ['f32', 1 / temperature], ['u32', i === 0 ? 1 : 0]]);
      rec.dispatch(this.pl.update, u, [chunk, b.targets, state, null, null, null], grid1d(M));
    }
    const u = params([['u32', M], ['u32', 0], ['u32', 0], ['f32', 1], ['u32', 0]]);
    rec.dispatch(this.pl.finish, u, [null, null, state, b.logp, b.lse, b.entropy], [ceilDiv(M, 64)]);
  }

  /**
   * dhidden f32[M, C] (+)= Σ_chunks dlogits · E_chunk, from dlogp f32[M] and the forward's lse.
   * `split`: the transposed matmuls split over the chunk's rows through a scratch (their grid, C/64 ×
   * M/128, is small: 384 workgroups at C = 1536, M = 2048).
   */
  encodeBackward(rec: Recorder, head: Weight, M: number, temperature: number, b: { hidden: Binding; targets: Binding; lse: Binding; dlogp: Binding; dhidden: Binding }, accumulate = false, split?: SplitK): void {
    const { chunk } = this.buffers(M, head.N);
    for (let v0 = 0; v0 < head.N; v0 += this.chunk) {
      const CH = Math.min(this.chunk, head.N - v0);
      const view = weightRows(head, v0, v0 + CH);
      this.matmul.encode(rec, b.hidden, view, chunk, M);
      const u = params([['u32', M], ['u32', CH], ['u32', v0], ['f32', 1 / temperature]]);
      rec.dispatch(this.pl.bwd, u, [chunk, b.targets, b.lse, b.dlogp], grid1d(ceilDiv(M * CH, 256)));
      this.matmul.encodeTransposed(rec, chunk, view, b.dhidden, M, { accumulate: accumulate || v0 > 0, split });
    }
  }

  /** Bytes of the logits chunk for M rows (what this kernel adds to peak memory). */
  chunkBytes(M: number): number {
    return M * this.chunk * 4;
  }

  private buffers(M: number, V: number): { state: GPUBuffer; chunk: GPUBuffer } {
    const need = M * Math.min(this.chunk, V) * 4;
    if (!this.chunkBuf || this.chunkBuf.size < need) {
      this.ctx.memory.destroy(this.chunkBuf);
      this.chunkBuf = this.ctx.memory.create('lm_logprob.chunk', need);
    }
    if (!this.state || this.state.size < M * 16) {
      this.ctx.memory.destroy(this.state);
      this.state = this.ctx.memory.create('lm_logprob.state', M * 16);
    }
    return { state: this.state, chunk: this.chunkBuf };
  }

  destroy(): void {
    this.ctx.memory.destroy(this.chunkBuf);
    this.ctx.memory.destroy(this.state);
  }
}
