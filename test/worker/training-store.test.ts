// SessionCheckpoint ⇄ storage schema without a GPU: AdamW moments kept per fused buffer are sliced per
// PEFT tensor for storage (which checks m/v match the adapter tensors) and reassembled exactly, through
// a real save/load in fake-indexeddb; a checkpoint for another model shape is refused with a hint.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { fusedShapes, targetRows, type LoraBaseShape } from '../../src/lora/adapter';
import { peftKey } from '../../src/lora/peft';
import type { LoraTarget } from '../../src/lora/targets';
import { makeConfig } from '../../src/grpo/config';
import type { SessionCheckpoint } from '../../src/grpo/session';
import { openStorage } from '../../src/storage/store';
import { fromLoadedCheckpoint, runConfig, toCheckpointInput } from '../../src/worker/training-store';

const base: LoraBaseShape = { numLayers: 2, hiddenSize: 8, intermediateSize: 12, qDim: 8, kvDim: 4 };
const targets: LoraTarget[] = ['k_proj', 'v_proj', 'o_proj', 'up_proj'];
const r = 2;

/** A checkpoint whose moments are non-zero exactly in the targeted slices (as training leaves them). */
function fakeCheckpoint(): SessionCheckpoint {
  let x = 1;
  const next = () => (x = (x * 48271) % 2147483647) / 2147483647 + 0.01;
  const adapter = new Map<string, { data: Float32Array; shape: number[] }>();
  const tensors = new Map<string, Float32Array>();
  const shapes = fusedShapes(base);
  for (let l = 0; l < base.numLayers; l++) {
    for (const t of targets) {
      const tr = targetRows(base, t);
      const f = shapes[tr.fused];
      adapter.set(peftKey(l, t, 'A'), { data: Float32Array.from({ length: r * tr.in }, next), shape: [r, tr.in] });
      adapter.set(peftKey(l, t, 'B'), { data: Float32Array.from({ length: tr.out * r }, next), shape: [tr.out, r] });
      for (const w of ['m', 'v']) {
        const a = tensors.get(`layers.${l}.${tr.fused}.A.${w}`) ?? new Float32Array(f.starts.length * r * f.K);
        a.set(Float32Array.from({ length: r * tr.in }, next), tr.slice * r * tr.in);
        tensors.set(`layers.${l}.${tr.fused}.A.${w}`, a);
        const b = tensors.get(`layers.${l}.${tr.fused}.B.${w}`) ?? new Float32Array(f.N * r);
        b.set(Float32Array.from({ length: tr.out * r }, next), tr.row0 * r);
        tensors.set(`layers.${l}.${tr.fused}.B.${w}`, b);
      }
    }
  }
  return {
    step: 5, adapter, optimizer: { step: 5, tensors }, rng: { algo: 'xoshiro128**', s: [1, 2, 3, 4] },
    spec: { config: makeConfig({ loraR: r, loraAlpha: 4, loraTargets: targets }), task: { kind: 'countdown', seed: 1, minNums: 3, maxNums: 4, template: 'base' }, rewards: [{ kind: 'builtin', name: 'countdown', weight: 1 }] },
    metrics: [{ step: 5, reward: 0.5 }],
  };
}

describe('training checkpoints in storage', () => {
  it('round-trips adapter, sliced AdamW moments, RNG state, spec and metrics exactly', async () => {
    const c = fakeCheckpoint();
    const s = await openStorage({ dbName: 'ckpt-roundtrip', chunkBytes: 4096 });
    await s.saveCheckpoint('run-1', toCheckpointInput(c, base, 'tiny'));
    const latest = await s.loadLatestCheckpoint('run-1');
    const back = fromLoadedCheckpoint(latest!.checkpoint, base);
    expect(back.model).toBe('tiny');
    expect(back.ckpt.step).toBe(5);
    expect(back.ckpt.rng).toEqual(c.rng);
    expect(back.ckpt.spec).toEqual(c.spec);
    expect(back.ckpt.metrics).toEqual(c.metrics);
    expect(back.ckpt.optimizer.step).toBe(5);
    expect([...back.ckpt.adapter.keys()].sort()).toEqual([...c.adapter.keys()].sort());
    for (const [k, t] of c.adapter) expect(back.ckpt.adapter.get(k)).toEqual(t);
    expect([...back.ckpt.optimizer.tensors.keys()].sort()).toEqual([...c.optimizer.tensors.keys()].sort());
    for (const [k, t] of c.optimizer.tensors) expect(back.ckpt.optimizer.tensors.get(k), k).toEqual(t);
  });

  it('refuses a checkpoint that does not fit the loaded model, with a hint', async () => {
    const c = fakeCheckpoint();
    const s = await openStorage({ dbName: 'ckpt-mismatch' });
    await s.saveCheckpoint('run-2', toCheckpointInput(c, base, 'tiny'));
    const latest = await s.loadLatestCheckpoint('run-2');
    expect(() => fromLoadedCheckpoint(latest!.checkpoint, { ...base, hiddenSize: 16 })).toThrow(expect.objectContaining({ hint: expect.stringContaining('load the model the run was trained on') }));
  });

  it('the run record leaves a dataset text out', () => {
    const spec = { ...fakeCheckpoint().spec, task: { kind: 'dataset' as const, name: 'qa.jsonl', jsonl: '{"q":1}\n'.repeat(1000), answerMode: 'auto' as const, seed: 1 } };
    expect(runConfig(spec, 'tiny')).toMatchObject({ model: 'tiny', task: { name: 'qa.jsonl', jsonl: '(8000 characters; kept in checkpoints)' } });
  });
});
