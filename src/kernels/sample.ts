// Sampling wrapper (shaders/sample.wgsl): one token per row with temperature, top-k, top-p, min-p
// or greedy; seeded by (seed, sequence id, step, vocab id) so results do not depend on batching.
import code from '../../shaders/sample.wgsl?raw';
import type { GpuContext } from '../gpu/device';
import { params, type Binding, type Recorder } from '../gpu/encoder';

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

export class SampleKernel {
  private constructor(private pipeline: GPUComputePipeline) {}

  static async create(ctx: GpuContext): Promise<SampleKernel> {
    return new SampleKernel(await ctx.pipelines.get('sample', code));
  }

  /** logits f32[R, V] → one token per row at decode step `step` */
  encode(rec: Recorder, logits: Binding, R: number, V: number, step: number, sp: SamplingParams, st: SampleState): void {
    if (step >= st.maxNew) throw new Error(`decode step ${step} is past maxNew ${st.maxNew}`);
    const u = params([
      ['u32', V], ['u32', R], ['f32', sp.temperature], ['u32', sp.topK], ['f32', sp.topP], ['f32', sp.minP],
      ['u32', sp.seed >>> 0], ['u32', step], ['u32', st.E], ['u32', st.maxNew], ['i32', st.pad],
    ]);
    rec.dispatch(this.pipeline, u, [logits, st.seq, st.eos, st.tokens, st.done, st.history, st.logps, st.pos], [R]);
  }
}
