// Sampling wrapper: one token per row with temperature, top-k, top-p, min-p or greedy; seeded by
// (seed, sequence id, step, vocab id) so results do not depend on batching. With top-k, top-p or
// min-p: shaders/sample.wgsl (one workgroup per row). Plain sampling and greedy: shaders/sample_fast
// .wgsl, the vocabulary in chunks over many workgroups, then one combining workgroup per row — the
// same tokens (the same Gumbel keys and tie rule), log-probs equal up to summation order.
import code from '../../shaders/sample.wgsl?raw';
import fastCode from '../../shaders/sample_fast.wgsl?raw';
import commonCode from '../../shaders/sample_common.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';
import { composeSource } from '../gpu/pipelines';
import { ceilDiv } from './grid';

/** vocabulary entries per workgroup of the fast path (at least; more when V > 256 chunks of it) */
const FAST_CHUNK = 2048;
const MAX_CHUNKS = 256;

export interface SamplingParams {
  /** 0 = greedy */
  temperature: number;
  /** 0 = off */
  topK: number;
  /** 1 = off */
  topP: number;
  /** 0 = off */
  minP: number;
  seed: number;
}

export interface SampleState {
  /** u32[R]: RNG stream of each row (a stable sequence id) */
  seq: Binding;
  /** u32[E] */
  eos: Binding;
  E: number;
  /** i32[R]: next input token, written here */
  tokens: Binding;
  /** u32[R]: 1 once the row sampled an EOS */
  done: Binding;
  /** i32[R, maxNew], f32[R, maxNew]: sampled tokens and their log-probs by step */
  history: Binding;
  logps: Binding;
  maxNew: number;
  /** i32[R]: position of each row, advanced by one */
  pos: Binding;
  pad: number;
}

/** Whether `sp` samples from the whole distribution (or greedily): the fast path applies. */
export function isPlainSampling(sp: SamplingParams, V: number): boolean {
  return (sp.topK <= 0 || sp.topK >= V) && sp.topP >= 1 && sp.minP <= 0;
}

export class SampleKernel {
  private partials: GPUBuffer | null = null;
  private constructor(private ctx: GpuContext, private pipeline: GPUComputePipeline, private partial: GPUComputePipeline, private finish: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<SampleKernel> {
    const fast = composeSource(commonCode, fastCode);
    const [full, partial, finish] = await Promise.all([
      ctx.pipelines.get('sample', composeSource(commonCode, code)),
      ctx.pipelines.get('sample_fast', fast, {}, 'partial'),
      ctx.pipelines.get('sample_fast', fast, {}, 'finish'),
    ]);
    return new SampleKernel(ctx, full, partial, finish);
  }

  /** logits f32[R, V] → one token per row at decode step `step`; `path` forces a kernel (tests) */
  encode(rec: Recorder, logits: Binding, R: number, V: number, step: number, sp: SamplingParams, st: SampleState, path?: 'full' | 'fast'): void {
    if (step >= st.maxNew) throw new Error(`decode step ${step} is past maxNew ${st.maxNew}`);
    const fast = path ? path === 'fast' : isPlainSampling(sp, V);
    if (fast) {
      if (!isPlainSampling(sp, V)) throw new Error('sample: the fast path has no top-k / top-p / min-p');
      this.encodeFast(rec, logits, R, V, step, sp, st);
      return;
    }
    const u = params([
      ['u32', V], ['u32', R], ['f32', sp.temperature], ['u32', sp.topK], ['f32', sp.topP], ['f32', sp.minP],
      ['u32', sp.seed >>> 0], ['u32', step], ['u32', st.E], ['u32', st.maxNew], ['i32', st.pad],
    ]);
    rec.dispatch(this.pipeline, u, [logits, st.seq, st.eos, st.tokens, st.done, st.history, st.logps, st.pos], [R]);
  }

  private encodeFast(rec: Recorder, logits: Binding, R: number, V: number, step: number, sp: SamplingParams, st: SampleState): void {
    const CH = Math.max(FAST_CHUNK, ceilDiv(V, MAX_CHUNKS));
    const C = ceilDiv(V, CH);
    const bytes = R * C * 16;
    if (!this.partials || this.partials.size < bytes) {
      this.ctx.memory.destroy(this.partials);
      this.partials = this.ctx.memory.create('sample.partials', Math.max(bytes, 16 * 1024));
    }
    const u = params([
      ['u32', V], ['u32', R], ['f32', sp.temperature], ['u32', C], ['u32', CH],
      ['u32', sp.seed >>> 0], ['u32', step], ['u32', st.E], ['u32', st.maxNew], ['i32', st.pad],
    ]);
    rec.dispatch(this.partial, u, [logits, st.seq, null, null, st.done, null, null, null, this.partials], [C, R]);
    rec.dispatch(this.finish, u, [logits, null, st.eos, st.tokens, st.done, st.history, st.logps, st.pos, this.partials], [R]);
  }

  destroy(): void {
    this.ctx.memory.destroy(this.partials);
    this.partials = null;
  }
}
