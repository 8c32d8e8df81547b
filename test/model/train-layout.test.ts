// The training layout (pure): a group's completions share their prompt's rows; every row's position,
// cache slot and fan-out, attention spans, the scored rows' gather and its transpose; sizes against
// maxLayoutRows for the trainer's micro-batch cuts; bad input named.
import { describe, expect, it } from 'vitest';
import { keysOf, maxLayoutRows, queriesOf, rolloutRows, sameUnits, trainLayout, type Sequence } from '../../src/model/train-layout';

const seq = (prompt: number[], completion: number[]): Sequence => ({ prompt, completion });

describe('trainLayout', () => {
  it('two completions of one prompt share its rows', () => {
    const lay = trainLayout([seq([1, 2, 3], [7, 8, 9]), seq([1, 2, 3], [5])], 0, 3);
    // rows: prompt 1 2 3 | step 0: 7 5 | step 1: 8 pad (branches step-major)
    expect(lay.T).toBe(3 + 2 * 2);
    expect([...lay.ids]).toEqual([1, 2, 3, 7, 5, 8, 0]);
    expect([...lay.pos]).toEqual([0, 1, 2, 3, 3, 4, 4]);
    expect([...lay.slot]).toEqual([0, 0, 0, 0, 1, 0, 1]);
    expect([...lay.fan]).toEqual([2, 2, 2, 1, 1, 1, 1]);
    expect(lay.L).toBe(5);
    expect(lay.units).toEqual([{ start: 0, P: 3, n: 2 }]);
    for (let t = 0; t < lay.T; t++) expect([...lay.spans.subarray(4 * t, 4 * t + 4)]).toEqual([0, 3, 2, 7]);
    // keys: prompt rows causal; branch rows see the prompt and their own branch
    expect(keysOf(lay.spans, 1)).toEqual([0, 1]);
    expect(keysOf(lay.spans, 5)).toEqual([0, 1, 2, 3, 5]);
    expect(keysOf(lay.spans, 6)).toEqual([0, 1, 2, 4, 6]);
    // queries of a key: a prompt row is read by every later row of the unit, a branch row by its branch
    expect(queriesOf(lay.spans, 1)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(queriesOf(lay.spans, 3)).toEqual([3, 5]);
    expect(queriesOf(lay.spans, 6)).toEqual([6]);
    for (let t = 0; t < lay.T; t++) for (const q of queriesOf(lay.spans, t)) expect(keysOf(lay.spans, q)).toContain(t);
    // scored: column 0 from the prompt's last row, column j from branch row j − 1
    expect(lay.M).toBe(6);
    expect([...lay.gather]).toEqual([2, 3, 5, 2, 4, 6]);
    expect([...lay.targets]).toEqual([7, 8, 9, 5, 0, 0]);
    expect([...lay.scatterOff]).toEqual([0, 0, 0, 2, 3, 4, 5, 6]);
    expect([...lay.scatterIdx]).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('different prompts are units of their own; share = false gives every sequence its own prompt copy', () => {
    const seqs = [seq([1, 2], [3, 4]), seq([1, 2], [5, 6]), seq([9], [8, 7])];
    const shared = trainLayout(seqs, 0, 2);
    expect(shared.units).toEqual([{ start: 0, P: 2, n: 2 }, { start: 4, P: 1, n: 1 }]);
    expect(shared.T).toBe(2 + 2 * 1 + 1 + 1 * 1); // Σ P + n·(Tc − 1)
    expect([...shared.slot]).toEqual([0, 0, 0, 1, 2, 2]);
    expect(keysOf(shared.spans, 5)).toEqual([4, 5]);
    const alone = trainLayout(seqs, 0, 2, false);
    expect(alone.units.map((u) => u.n)).toEqual([1, 1, 1]);
    expect(alone.T).toBe(3 + 3 + 2);
    expect([...alone.fan].every((f) => f === 1)).toBe(true);
    // the same tokens predict the same targets either way
    const predicted = (l: typeof shared) => Array.from(l.gather, (r) => l.ids[r]);
    expect(predicted(alone)).toEqual(predicted(shared));
  });

  it('one completion column: no branch rows, every sequence scored from its prompt', () => {
    const lay = trainLayout([seq([4, 5], [6]), seq([4, 5], [7])], 0, 1);
    expect(lay.T).toBe(2);
    expect([...lay.gather]).toEqual([1, 1]);
    expect([...lay.scatterOff]).toEqual([0, 0, 2]);
  });

  it('G = 8, prompt 128, completion 256: 2,168 rows instead of 3,072', () => {
    const seqs = Array.from({ length: 8 }, (_, b) => seq(Array.from({ length: 128 }, (_, i) => i), Array.from({ length: 256 }, (_, i) => b + i)));
    expect(trainLayout(seqs, 0, 256).T).toBe(2168);
    expect(maxLayoutRows(8, 8, 8, 128, 256)).toBe(2168);
  });

  it('maxLayoutRows bounds every micro-batch the trainer cuts', () => {
    for (const [groups, G, micro] of [[1, 8, 1], [2, 8, 1], [3, 4, 2], [2, 8, 3], [5, 2, 4], [1, 3, 3]]) {
      const B = groups * G;
      const per = Math.ceil(B / micro);
      const P = 5;
      const Tc = 4;
      const seqs = Array.from({ length: B }, (_, b) => seq(Array(P).fill(Math.floor(b / G) + 1), [1, 2]));
      let most = 0;
      for (let i = 0; i < B; i += per) most = Math.max(most, trainLayout(seqs.slice(i, i + per), 0, Tc).T);
      expect(maxLayoutRows(B, per, G, P, Tc), `${groups} groups of ${G}, ${micro} micro-batches`).toBe(most);
    }
  });

  it('rolloutRows puts every prefill and decode token at its trainLayout row', () => {
    const [G, Tc] = [4, 6];
    const prompts = [[1, 2, 3, 4, 5], [6, 7, 8]];
    const seqs = prompts.flatMap((p, u) => Array.from({ length: G }, (_, g) => seq(p, Array.from({ length: Tc }, (_, j) => 100 * u + 10 * g + j))));
    const plan = rolloutRows(prompts.map((p) => p.length), G, Tc);
    const lay = trainLayout(seqs, 0, Tc);
    expect(sameUnits(plan.units, lay.units)).toBe(true);
    expect(plan.T).toBe(lay.T);
    prompts.forEach((p, u) => p.forEach((id, q) => expect(lay.ids[plan.prompt[u] + q]).toBe(id)));
    seqs.forEach((s, b) => {
      const { base, stride } = plan.decode[b];
      for (let j = 0; j < Tc - 1; j++) {
        const row = base + (s.prompt.length + j) * stride; // decode step j + 1 feeds completion token j at position P + j
        expect([lay.ids[row], lay.pos[row], lay.slot[row]]).toEqual([s.completion[j], s.prompt.length + j, b]);
      }
    });
    // shorter completions: one prompt keeps the plan's units (a prefix), two prompts do not
    const short = (n: number) => trainLayout(seqs.slice(0, n).map((q) => seq(q.prompt, q.completion.slice(0, 3))), 0, 3).units;
    expect(sameUnits(rolloutRows([5], G, Tc).units, short(G))).toBe(true);
    expect(sameUnits(plan.units, short(2 * G))).toBe(false);
  });

  it('names an empty prompt, a completion past Tc and Tc < 1', () => {
    expect(() => trainLayout([seq([1], [2]), seq([], [2])], 0, 2)).toThrow(/sequence 1 has an empty prompt/);
    expect(() => trainLayout([seq([1], [2, 3, 4])], 0, 2)).toThrow(/3 completion tokens, more than the 2 columns/);
    expect(() => trainLayout([seq([1], [])], 0, 0)).toThrow(/Tc=0/);
  });
});
