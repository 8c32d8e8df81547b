// Parses an uploaded JSONL file in slices of lines with a yield between them, so a large file never
// blocks the main thread for long; the result equals parseQaJsonlLines on the whole text (the same
// line numbers, the same limits on rows and listed errors).
import { DEFAULT_DATASET_LIMITS, parseQaJsonlLines, type QaParseResult, type QaRow } from '../tasks/dataset';

const LINE_PREFIX = /^line (\d+): /;

export interface ChunkedParseOptions {
  /** lines per slice (default 2000) */
  linesPerSlice?: number;
  /** waits between slices (default a macrotask) */
  yieldFn?: () => Promise<void>;
  onProgress?: (linesDone: number, linesTotal: number) => void;
}

const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));

export async function parseQaJsonlChunked(text: string, opts: ChunkedParseOptions = {}): Promise<QaParseResult> {
  const per = opts.linesPerSlice ?? 2000;
  const lim = DEFAULT_DATASET_LIMITS;
  if (text.length > lim.maxChars) return parseQaJsonlLines(text); // throws the size error
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trimStart().startsWith('[')) return parseQaJsonlLines(body);
  const lines = body.split('\n');
  const rows: QaRow[] = [];
  const errors: string[] = [];
  let more = 0;
  for (let from = 0; from < lines.length; from += per) {
    const slice = lines.slice(from, from + per).join('\n');
    // a slice can hold at most the rows still allowed; one more row makes parseQaJsonlLines report the overflow
    const r = parseQaJsonlLines(slice, { maxRows: lim.maxRows - rows.length, maxErrors: Number.MAX_SAFE_INTEGER });
    for (const row of r.rows) rows.push({ ...row, line: row.line + from });
    let stop = false;
    for (const e of r.errors) {
      const shifted = e.replace(LINE_PREFIX, (_m, n: string) => `line ${Number(n) + from}: `).replace(/more than \d+ rows/, `more than ${lim.maxRows} rows`);
      if (/more than \d+ rows/.test(e)) stop = true;
      if (errors.length < lim.maxErrors) errors.push(shifted);
      else more++;
    }
    opts.onProgress?.(Math.min(lines.length, from + per), lines.length);
    if (stop || rows.length > lim.maxRows) break;
    if (from + per < lines.length) await (opts.yieldFn ?? macrotask)();
  }
  if (more > 0) errors.push(`… and ${more} more bad lines`);
  return { rows, errors };
}
