// Host → GPU micro-batches for training: sequences (prompt + completion ids) right-padded to one
// length Ts, slot-major rows (sequence b at rows b·Ts …), and the scored rows that predict each
// completion token (row P−1+j predicts completion token j), as Backprop's TrainBatch.
import type { GpuContext } from '../gpu/device';
import type { TrainBatch } from '../model/backprop';

export interface Sequence {
  prompt: number[];
  completion: number[];
}

/**
 * Builds a batch of B sequences scoring Tc completion columns each (Tc = the longest completion,
 * or `columns`); shorter completions are padded with `pad` and masked by the caller.
 */
export function uploadBatch(ctx: GpuContext, seqs: Sequence[], pad: number, columns?: number): TrainBatch & { destroy(): void; Tc: number } {
  const B = seqs.length;
  const Tc = columns ?? Math.max(1, ...seqs.map((s) => s.completion.length));
  const Ts = Math.max(...seqs.map((s) => s.prompt.length)) + Tc;
  const ids = new Int32Array(B * Ts).fill(pad);
  const slot = new Int32Array(B * Ts);
  const pos = new Int32Array(B * Ts);
  const targets = new Int32Array(B * Tc).fill(pad);
  const rows: { start: number; count: number }[] = [];
  seqs.forEach((s, b) => {
    if (s.prompt.length === 0) throw new Error(`sequence ${b} has an empty prompt; hint: every prompt needs at least one token`);
    if (s.completion.length > Tc) throw new Error(`sequence ${b} has ${s.completion.length} completion tokens, more than the ${Tc} columns`);
    ids.set(s.prompt, b * Ts);
    ids.set(s.completion, b * Ts + s.prompt.length);
    for (let t = 0; t < Ts; t++) { slot[b * Ts + t] = b; pos[b * Ts + t] = t; }
    targets.set(s.completion, b * Tc);
    rows.push({ start: s.prompt.length - 1, count: Tc });
  });
  const m = ctx.memory;
  const bufs = { ids: m.upload('batch.ids', ids), slot: m.upload('batch.slot', slot), pos: m.upload('batch.pos', pos), targets: m.upload('batch.targets', targets) };
  return {
    B, Ts, Tc, rows, M: B * Tc, ...bufs,
    destroy: () => Object.values(bufs).forEach((b) => m.destroy(b)),
  };
}
