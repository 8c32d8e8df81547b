// Correctness reward for question/answer datasets: extract the model's final answer, compare it
// with the reference exactly (whitespace-normalised) or numerically (commas, signs, decimals,
// simple fractions; relative tolerance 1e-6). 1 when it matches, else 0.

import { RewardInputError, lastTagged } from './text';

export type CorrectnessMode = 'exact' | 'numeric' | 'auto';

export interface CorrectnessOptions {
  /**
   * Where to look when there is no <answer>…</answer>:
   * 'none' – nowhere (score 0); 'hash' – GSM8K style '#### 42' (the rest of the line after the last
   * '####'); 'hash-or-last-number' (default) – '####', else the last number in the completion,
   * the latter only when the comparison is numeric.
   */
  fallback?: 'none' | 'hash' | 'hash-or-last-number';
  /** relative tolerance of numeric comparison, default 1e-6 */
  relTol?: number;
}

export interface CorrectnessDetail {
  score: number;
  reason: string;
  /** the extracted answer text, or null when none was found */
  extracted: string | null;
  source: 'answer-tag' | 'hash' | 'last-number' | null;
}

/** Trims and collapses runs of whitespace to one space. */
export function normaliseWhitespace(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

const PLAIN = /^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?$/;
const FRACTION = /^([-+]?)(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/;

/**
 * A number written as '42', '-3.5', '+.5', '1,234,567.89', '1e-3', '3/4', '-3/4', '$18', '50%'
 * (the '$' and '%' are dropped, so 50% reads as 50) or with a final '.', e.g. '42.'; else null.
 * Commas must group thousands ('1,23' is not a number).
 */
export function parseNumber(text: string): number | null {
  let s = text.trim();
  if (s.length === 0 || s.length > 100) return null;
  if (s.endsWith('.') && /\d\.$/.test(s)) s = s.slice(0, -1);
  if (s.endsWith('%')) s = s.slice(0, -1).trimEnd();
  s = s.replace(/^([-+]?)\$/, '$1');
  const f = FRACTION.exec(s);
  if (f !== null) {
    const den = Number(f[3]);
    if (den === 0) return null;
    const v = Number(f[2]) / den;
    return f[1] === '-' ? -v : v;
  }
  if (!PLAIN.test(s) || !/\d/.test(s)) return null;
  const v = Number(s.replace(/,/g, ''));
  return Number.isFinite(v) ? v : null;
}

const NUMBER_IN_TEXT = /[-+]?\$?\d[\d,]*(?:\.\d+)?(?:\s*\/\s*\d+)?/g;

/** The last number in free text (see parseNumber for the forms), as its source text; or null. */
export function lastNumberText(text: string): string | null {
  const found = Array.from(text.matchAll(NUMBER_IN_TEXT), (m) => m[0]);
  for (let i = found.length - 1; i >= 0; i--) {
    const t = found[i].replace(/,+$/, '');
    if (parseNumber(t) !== null) return t;
    const piece = t.slice(t.lastIndexOf(',') + 1); // '1,2,3' is a list, not a grouped number: take 3
    if (parseNumber(piece) !== null) return piece;
  }
  return null;
}

/** A GSM8K reference such as 'She sold … #### 72' → '72'; other references are returned as they are. */
export function referenceAnswer(answer: string): string {
  const i = answer.lastIndexOf('####');
  return i < 0 ? answer : answer.slice(i + 4).split('\n')[0].trim();
}

/** The final answer in a completion: last <answer>…</answer> (may span lines), else the fallback. */
export function extractFinalAnswer(completion: string, fallback: CorrectnessOptions['fallback'] = 'hash-or-last-number', numeric = true): { text: string; source: NonNullable<CorrectnessDetail['source']> } | null {
  const tagged = lastTagged(completion, '<answer>', '</answer>');
  if (tagged !== null) return { text: tagged.content.trim(), source: 'answer-tag' };
  if (fallback === 'none') return null;
  const h = completion.lastIndexOf('####');
  if (h >= 0) return { text: completion.slice(h + 4).split('\n')[0].trim(), source: 'hash' };
  if (fallback === 'hash' || !numeric) return null;
  const n = lastNumberText(completion);
  return n === null ? null : { text: n, source: 'last-number' };
}

const SOURCE: Record<NonNullable<CorrectnessDetail['source']>, string> = {
  'answer-tag': 'from <answer>', hash: "from '####'", 'last-number': 'last number in the text',
};

const quote = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

function compareNumeric(got: string, want: number, relTol: number): { ok: boolean; reason: string } {
  const g = parseNumber(got) ?? parseNumber(lastNumberText(got) ?? '');
  if (g === null) return { ok: false, reason: `answer ${quote(got)} has no number` };
  const ok = Math.abs(g - want) <= relTol * Math.max(Math.abs(g), Math.abs(want));
  return { ok, reason: ok ? `equals ${want}` : `expected ${want}, got ${g}` };
}

/**
 * Scores a completion against a reference answer. mode 'numeric' compares numbers (the answer's
 * text as a whole, else its last number), 'exact' compares whitespace-normalised text
 * (case-sensitive), 'auto' is numeric when the reference reads as a number, else exact.
 * GSM8K references ('… #### 72') are reduced to what follows '####'.
 */
export function correctnessRewardDetailed(completion: string, answer: string, mode: CorrectnessMode = 'auto', options: CorrectnessOptions = {}): CorrectnessDetail {
  if (typeof answer !== 'string') throw new RewardInputError(`reference answer must be a string, got ${typeof answer}`, 'dataset rows carry answers as strings; see parseQaJsonl');
  const relTol = options.relTol ?? 1e-6;
  const ref = referenceAnswer(answer);
  const refNum = parseNumber(ref);
  if (mode === 'numeric' && refNum === null) {
    throw new RewardInputError(`reference answer ${quote(ref)} is not a number, but mode is 'numeric'`, "use mode 'exact' or 'auto' for text answers");
  }
  const numeric = mode === 'numeric' || (mode === 'auto' && refNum !== null);
  const found = extractFinalAnswer(completion, options.fallback ?? 'hash-or-last-number', numeric);
  if (found === null) {
    const fallback = options.fallback ?? 'hash-or-last-number';
    const looked = ['<answer> tag', ...(fallback === 'none' ? [] : ["'####'"]), ...(fallback === 'hash-or-last-number' && numeric ? ['number'] : [])];
    return { score: 0, reason: `no answer found (no ${looked.join(', no ')})`, extracted: null, source: null };
  }
  const from = SOURCE[found.source];
  if (numeric && refNum !== null) {
    const c = compareNumeric(found.text, refNum, relTol);
    return { score: c.ok ? 1 : 0, reason: `${c.reason} (${from})`, extracted: found.text, source: found.source };
  }
  const ok = normaliseWhitespace(found.text) === normaliseWhitespace(ref);
  const reason = ok ? `matches exactly (${from})` : `expected ${quote(normaliseWhitespace(ref))}, got ${quote(normaliseWhitespace(found.text))} (${from})`;
  return { score: ok ? 1 : 0, reason, extracted: found.text, source: found.source };
}

/** 1 when the completion's final answer matches the reference, else 0. See correctnessRewardDetailed. */
export function correctnessReward(completion: string, answer: string, mode: CorrectnessMode = 'auto'): number {
  return correctnessRewardDetailed(completion, answer, mode).score;
}
