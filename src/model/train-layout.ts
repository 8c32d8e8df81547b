// The row layout of a training micro-batch (pure, no GPU): sequences that share a prompt — the G
// completions of one GRPO group — share its rows. A unit is one prompt of P tokens followed by its n
// branches, each the first Tc − 1 tokens of one completion (padded), step-major: token j of branch i
// at row P + j·n + i (the rows of one decode step are neighbours, and a shorter Tc is a prefix).
// Completion token j is predicted by the prompt's last row (j = 0) or by branch row j − 1; the last
// completion token predicts nothing scored, so it needs no row. TRL feeds every completion with its
// own copy of the prompt; the sums are the same (a prompt row's gradients add up over the branches
// that attend to it), with n·P − P fewer rows per group: 8 × (128 + 256) = 3,072 rows become
// 128 + 8 × 255 = 2,168.
//
// Per row, what the kernels need:
//   pos    i32[T]   RoPE position: p in the prompt, P + j at branch row j
//   slot   i32[T]   KV-cache slot: each sequence its own; prompt rows the unit's first sequence
//   fan    i32[T]   cache slots the row's k/v go to: a prompt row fans out to all n slots of its unit,
//                  so the forward's attention finds [prompt | branch] in every branch's slot
//   spans  i32[T,4] (start, P, n, end) of the row's unit, for the attention backward, which reads
//                  k/v from the rows: a prompt row t attends [start, t] and is attended by [t, end);
//                  branch row t (branch i = (t − start − P) mod n) attends the prompt [start, start + P)
//                  and its branch's rows start + P + i, + n, … ≤ t, and is attended by t, t + n, … < end
// Scored rows (m = b·Tc + j for sequence b, completion column j): gather idx i32[M] (the row that
// predicts it), and the transposed lists (scatter, CSR over the T rows) the backward sums with.

export interface Sequence {
  prompt: number[];
  completion: number[];
}

export interface TrainLayout {
  /** sequences, rows, cache positions per slot, scored rows (= B·Tc), completion columns */
  B: number;
  T: number;
  L: number;
  M: number;
  Tc: number;
  ids: Int32Array;
  pos: Int32Array;
  slot: Int32Array;
  fan: Int32Array;
  spans: Int32Array;
  targets: Int32Array;
  /** scored row m is predicted by row gather[m] */
  gather: Int32Array;
  /** CSR over rows: scored rows scatterIdx[scatterOff[r] .. scatterOff[r+1]) were gathered from row r */
  scatterOff: Int32Array;
  scatterIdx: Int32Array;
  /** per unit: first row, prompt length, branches */
  units: { start: number; P: number; n: number }[];
}

/**
 * Most rows of the micro-batches a step cuts from B sequences (groups of G sharing one prompt of at
 * most P tokens, completions of at most Tc) in runs of `per` neighbours, as the trainer does: each
 * micro-batch's branches plus one prompt per group it touches.
 */
export function maxLayoutRows(B: number, per: number, G: number, P: number, Tc: number): number {
  let most = 0;
  for (let start = 0; start < B; start += per) {
    const end = Math.min(B, start + per);
    const groups = Math.floor((end - 1) / G) - Math.floor(start / G) + 1;
    most = Math.max(most, groups * P + (end - start) * (Tc - 1));
  }
  return most;
}

/**
 * Lays out `seqs` scoring Tc completion columns each (Tc ≥ every completion's length; shorter ones
 * padded with `pad`, masked by the caller). Neighbouring sequences with equal prompts share them
 * unless `share` is false (then every sequence is a unit of one branch: TRL's layout, minus the pad
 * rows). Throws on an empty prompt or a completion longer than Tc.
 */
export function trainLayout(seqs: readonly Sequence[], pad: number, Tc: number, share = true): TrainLayout {
  if (!(Tc >= 1)) throw new Error(`a training batch needs at least one completion column, got Tc=${Tc}`);
  const B = seqs.length;
  const units: { start: number; P: number; n: number; first: number }[] = [];
  seqs.forEach((s, b) => {
    if (s.prompt.length === 0) throw new Error(`sequence ${b} has an empty prompt; hint: every prompt needs at least one token`);
    if (s.completion.length > Tc) throw new Error(`sequence ${b} has ${s.completion.length} completion tokens, more than the ${Tc} columns`);
    const last = units[units.length - 1];
    if (share && last && sameIds(seqs[last.first].prompt, s.prompt)) last.n++;
    else units.push({ start: 0, P: s.prompt.length, n: 1, first: b });
  });
  const Lb = Tc - 1;
  let T = 0;
  for (const u of units) { u.start = T; T += u.P + u.n * Lb; }
  const L = Math.max(1, ...units.map((u) => u.P + Lb));
  const M = B * Tc;
  const ids = new Int32Array(T).fill(pad);
  const pos = new Int32Array(T);
  const slot = new Int32Array(T);
  const fan = new Int32Array(T).fill(1);
  const spans = new Int32Array(T * 4);
  const targets = new Int32Array(M).fill(pad);
  const gather = new Int32Array(M);
  for (const u of units) {
    const end = u.start + u.P + u.n * Lb;
    const prompt = seqs[u.first].prompt;
    for (let p = 0; p < u.P; p++) {
      const r = u.start + p;
      ids[r] = prompt[p];
      pos[r] = p;
      slot[r] = u.first;
      fan[r] = u.n;
      spans.set([u.start, u.P, u.n, end], r * 4);
    }
    for (let i = 0; i < u.n; i++) {
      const b = u.first + i;
      const c = seqs[b].completion;
      const bs = u.start + u.P + i; // the branch's first row; its rows stride by n
      for (let j = 0; j < Lb; j++) {
        const r = bs + j * u.n;
        if (j < c.length) ids[r] = c[j];
        pos[r] = u.P + j;
        slot[r] = b;
        spans.set([u.start, u.P, u.n, end], r * 4);
      }
      targets.set(c, b * Tc);
      for (let j = 0; j < Tc; j++) gather[b * Tc + j] = j === 0 ? u.start + u.P - 1 : bs + (j - 1) * u.n;
    }
  }
  const { off: scatterOff, idx: scatterIdx } = transpose(gather, T);
  return { B, T, L, M, Tc, ids, pos, slot, fan, spans, targets, gather, scatterOff, scatterIdx, units: units.map(({ start, P, n }) => ({ start, P, n })) };
}

/** CSR of the inverse map: for each row r in [0, T), the m with gather[m] = r, ascending. */
function transpose(gather: Int32Array, T: number): { off: Int32Array; idx: Int32Array } {
  const off = new Int32Array(T + 1);
  for (const r of gather) off[r + 1]++;
  for (let r = 0; r < T; r++) off[r + 1] += off[r];
  const fill = off.slice(0, T);
  const idx = new Int32Array(gather.length);
  gather.forEach((r, m) => { idx[fill[r]++] = m; });
  return { off, idx };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The rows query row t attends, ascending (CPU references and tests). */
export function keysOf(spans: Int32Array, t: number): number[] {
  const [start, P, n] = spans.subarray(t * 4, t * 4 + 3);
  if (t < start + P) return Array.from({ length: t - start + 1 }, (_, k) => start + k);
  const first = start + P + ((t - start - P) % n);
  return [...Array.from({ length: P }, (_, k) => start + k), ...Array.from({ length: (t - first) / n + 1 }, (_, k) => first + k * n)];
}

/** The rows that attend key row t, ascending. */
export function queriesOf(spans: Int32Array, t: number): number[] {
  const [start, P, n, end] = spans.subarray(t * 4, t * 4 + 4);
  const step = t < start + P ? 1 : n;
  return Array.from({ length: Math.ceil((end - t) / step) }, (_, k) => t + k * step);
}

/** The most rows that attend any key row: the longest unit, end − start (the attention backward's dk/dv split). */
export function maxQueries(spans: Int32Array): number {
  let most = 0;
  for (let t = 0; t + 3 < spans.length; t += 4) most = Math.max(most, spans[t + 3] - spans[t]);
  return most;
}

/** Where a rollout's rows go in the training layout it will become (Engine's RowSave maps). */
export interface RolloutRows {
  /** first row of each prompt (token p at row prompt[i] + p) */
  prompt: number[];
  /** decode row r (prompt-major, G per prompt): its token at position q goes to row base + q·stride */
  decode: { base: number; stride: number }[];
  /** the units trainLayout will make, when every group keeps its own unit and Tc columns are scored */
  units: { start: number; P: number; n: number }[];
  /** rows they take (the saved buffers must hold this many) */
  T: number;
}

/**
 * The rows of trainLayout(share) for `prompts` (lengths P_i) × G completions scored over Tc columns,
 * before the completions exist: unit i at start_i = Σ_{k<i} (P_k + G·(Tc − 1)), decode row (i, g) at
 * position P_i + j → start_i + P_i + j·G + g. Valid for the layout actually built after the rollout
 * iff its units are these (one prompt: always, as a shorter Tc is a prefix; several: only at this Tc
 * and when no two neighbouring prompts are equal, which trainLayout would merge).
 */
export function rolloutRows(promptLengths: readonly number[], G: number, Tc: number): RolloutRows {
  const units: RolloutRows['units'] = [];
  let start = 0;
  for (const P of promptLengths) {
    units.push({ start, P, n: G });
    start += P + G * Math.max(0, Tc - 1);
  }
  return {
    prompt: units.map((u) => u.start),
    decode: units.flatMap((u) => Array.from({ length: G }, (_, g) => ({ base: u.start + u.P + g - u.P * G, stride: G }))),
    units,
    T: start,
  };
}

/** Whether two unit lists are the same (a rollout's saved rows fit the layout built afterwards). */
export function sameUnits(a: readonly { start: number; P: number; n: number }[], b: readonly { start: number; P: number; n: number }[]): boolean {
  return a.length === b.length && a.every((u, i) => u.start === b[i].start && u.P === b[i].P && u.n === b[i].n);
}
