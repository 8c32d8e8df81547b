// Helpers of the Samples panel, pure so they are tested in Node: a completion split into plain,
// <think> and <answer> segments (rendered as text spans, never as HTML), and the best / worst / all
// filter per step.
import type { SampleView } from '../worker/protocol';

export type SegmentKind = 'text' | 'think' | 'answer' | 'tag';

export interface Segment {
  kind: SegmentKind;
  text: string;
}

const TAGS = /<\/?(?:think|answer)>/g;

/**
 * Splits a completion at <think>, </think>, <answer>, </answer>. Text inside a think block is
 * 'think', inside an answer block 'answer', the tags themselves 'tag'. A completion that closes
 * </think> without opening it (Countdown prompts end with "<think>") starts inside the think block.
 */
export function segmentCompletion(text: string): Segment[] {
  const out: Segment[] = [];
  const firstOpen = text.indexOf('<think>');
  const firstClose = text.indexOf('</think>');
  let mode: SegmentKind = firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen) ? 'think' : 'text';
  let at = 0;
  const push = (kind: SegmentKind, s: string) => {
    if (!s) return;
    const last = out[out.length - 1];
    if (last && last.kind === kind) last.text += s;
    else out.push({ kind, text: s });
  };
  for (const m of text.matchAll(TAGS)) {
    push(mode, text.slice(at, m.index));
    push('tag', m[0]);
    at = m.index + m[0].length;
    if (m[0] === '<think>') mode = 'think';
    else if (m[0] === '<answer>') mode = 'answer';
    else mode = 'text';
  }
  push(mode, text.slice(at));
  return out;
}

export type SampleFilter = 'all' | 'best' | 'worst';

/**
 * Samples to show, newest step first: 'all' keeps every sample, 'best'/'worst' the highest/lowest
 * total of each step. `step` null means every step. Ties keep the earlier sample.
 */
export function filterSamples(samples: readonly SampleView[], filter: SampleFilter, step: number | null): SampleView[] {
  const chosen = step === null ? samples : samples.filter((s) => s.step === step);
  if (filter === 'all') return [...chosen];
  const byStep = new Map<number, SampleView>();
  for (const s of chosen) {
    const cur = byStep.get(s.step);
    if (!cur || (filter === 'best' ? s.total > cur.total : s.total < cur.total)) byStep.set(s.step, s);
  }
  return [...byStep.values()].sort((a, b) => b.step - a.step);
}

/** Distinct steps, newest first. */
export function sampleSteps(samples: readonly SampleView[]): number[] {
  return [...new Set(samples.map((s) => s.step))].sort((a, b) => b - a);
}

/** A reward value as text: up to 3 decimals, no trailing zeros ("1", "0.1", "-0.013"). */
export function fmtScore(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Math.round(v * 1000) / 1000);
}
