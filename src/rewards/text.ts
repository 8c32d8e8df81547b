// String helpers shared by the rewards, written to match the Python that the reference rewards use
// (str.count, str.split(sep)[-1], str.strip, len, re.finditer of '<answer>(.*?)</answer>'), in
// linear time on any input. Also RewardInputError, raised for bad task data (never for completions).

/** Raised when a reward gets an invalid task/reference (a caller bug), never for a bad completion. */
export class RewardInputError extends Error {
  override name = 'RewardInputError';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

/** Python's str.count(sub): non-overlapping occurrences, scanning left to right. */
export function countNonOverlapping(text: string, sub: string): number {
  if (sub.length === 0) throw new RangeError('countNonOverlapping: empty substring');
  let n = 0;
  for (let i = text.indexOf(sub); i >= 0; i = text.indexOf(sub, i + sub.length)) n++;
  return n;
}

/** Python's text.split(sep)[-1]: what follows the last non-overlapping occurrence (all of text if none). */
export function afterLastSplit(text: string, sep: string): string {
  if (sep.length === 0) throw new RangeError('afterLastSplit: empty separator');
  let end = 0;
  for (let i = text.indexOf(sep); i >= 0; i = text.indexOf(sep, i + sep.length)) end = i + sep.length;
  return text.slice(end);
}

/** Python's len(): Unicode code points, not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const PY_WS = /^[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

/** Python's str.isspace() for one UTF-16 unit (what `\s` matches in a str pattern). */
export function isPyWhitespace(ch: string): boolean {
  return PY_WS.test(ch);
}

/** Python's str.strip() with no arguments. */
export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPyWhitespace(s[a])) a++;
  while (b > a && isPyWhitespace(s[b - 1])) b--;
  return s.slice(a, b);
}

export interface TaggedSpan {
  /** text between the tags, not stripped */
  content: string;
  /** index of the opening tag */
  start: number;
  /** index just past the closing tag */
  end: number;
}

/**
 * The last match of `open(.*?)close` (dot matching newlines) when matches are taken left to right
 * without overlap, as Python's re.finditer does. Linear time.
 */
export function lastTagged(text: string, open: string, close: string): TaggedSpan | null {
  let last: TaggedSpan | null = null;
  let pos = 0;
  for (;;) {
    const i = text.indexOf(open, pos);
    if (i < 0) return last;
    const j = text.indexOf(close, i + open.length);
    if (j < 0) return last; // no close after this open → none after any later open either
    last = { content: text.slice(i + open.length, j), start: i, end: j + close.length };
    pos = j + close.length;
  }
}
