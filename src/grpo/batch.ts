// Host → GPU micro-batches for training: the sequences laid out by trainLayout (the completions of
// one prompt share its rows; src/model/train-layout.ts) and uploaded as Backprop's TrainBatch.
import type { GpuContext } from '../gpu/device';
import type { TrainBatch } from '../model/backprop';
import { maxQueries, trainLayout, type Sequence, type TrainLayout } from '../model/train-layout';

export type { Sequence };

/**
 * Builds a batch of the sequences scoring Tc completion columns each (Tc = the longest completion,
 * or `columns`); shorter completions are padded with `pad` and masked by the caller. Scored row m =
 * b·Tc + j predicts completion token j of sequence b. `share` false: no prompt sharing (tests).
 */
export function uploadBatch(ctx: GpuContext, seqs: Sequence[], pad: number, columns?: number, share = true): TrainBatch & { destroy(): void; Tc: number; units: TrainLayout['units'] } {
  const Tc = columns ?? Math.max(1, ...seqs.map((s) => s.completion.length));
  const lay = trainLayout(seqs, pad, Tc, share);
  const m = ctx.memory;
  const bufs = {
    ids: m.upload('batch.ids', lay.ids), slot: m.upload('batch.slot', lay.slot), pos: m.upload('batch.pos', lay.pos), fan: m.upload('batch.fan', lay.fan),
    spans: m.upload('batch.spans', lay.spans), targets: m.upload('batch.targets', lay.targets),
  };
  const gather = m.upload('batch.gather', lay.gather);
  const scatter = { off: m.upload('batch.scatter.off', lay.scatterOff), idx: m.upload('batch.scatter.idx', lay.scatterIdx) };
  const all = [...Object.values(bufs), gather, scatter.off, scatter.idx];
  return {
    B: lay.B, T: lay.T, L: lay.L, M: lay.M, Tc, units: lay.units, maxQueries: maxQueries(lay.spans), ...bufs, gather, scatter,
    destroy: () => all.forEach((b) => m.destroy(b)),
  };
}
