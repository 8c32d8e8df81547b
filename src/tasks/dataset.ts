// Custom question/answer data: parse an uploaded JSONL file ({question, answer} or {prompt, answer}
// per line; prompt = a question string or chat messages), with every bad line reported by number,
// and build R1-style prompts that ask for <think>…</think> then <answer>…</answer>.

import { TaskError, type ChatMessage } from './types';

export interface QaRow {
  /** 1-based line in the uploaded file */
  line: number;
  /** a question (wrapped by buildQaMessages) or ready-made chat messages, used as they are */
  prompt: string | ChatMessage[];
  /** the reference answer; JSON numbers become their decimal text */
  answer: string;
}

export interface DatasetLimits {
  /** characters in the whole file */
  maxChars: number;
  maxRows: number;
  /** characters in one question/prompt (all messages together) or answer */
  maxFieldChars: number;
  /** line errors kept in detail; the rest are counted */
  maxErrors: number;
}

export const DEFAULT_DATASET_LIMITS: Readonly<DatasetLimits> = { maxChars: 64 * 1024 * 1024, maxRows: 100_000, maxFieldChars: 32_768, maxErrors: 50 };

export interface QaParseResult {
  rows: QaRow[];
  /** e.g. 'line 17: missing "answer"'; at most maxErrors, then one '… and N more' entry */
  errors: string[];
}

/** Raised by parseQaJsonl; `errors` lists the bad lines as in QaParseResult. */
export class DatasetError extends Error {
  override name = 'DatasetError';
  constructor(message: string, readonly errors: string[], readonly hint: string) {
    super(message);
  }
}

const JSONL_HINT = 'each non-blank line must be one JSON object like {"question": "What is 6 * 7?", "answer": "42"}';
const ROLES = new Set(['system', 'user', 'assistant']);

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function checkMessages(v: unknown[], max: number): ChatMessage[] | string {
  if (v.length === 0) return '"prompt" is an empty list of messages';
  let chars = 0;
  for (const [i, m] of v.entries()) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `"prompt"[${i}] must be an object {"role", "content"}, got ${kind(m)}`;
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== 'string' || !ROLES.has(role)) return `"prompt"[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role) ?? 'nothing'}`;
    if (typeof content !== 'string') return `"prompt"[${i}].content must be a string, got ${kind(content)}`;
    chars += content.length;
  }
  if (chars > max) return `"prompt" has ${chars} characters, at most ${max} allowed`;
  return v.map((m) => ({ role: (m as ChatMessage).role, content: (m as ChatMessage).content }));
}

function checkPrompt(obj: Record<string, unknown>, max: number): string | ChatMessage[] | { error: string } {
  const hasQ = has(obj, 'question');
  const hasP = has(obj, 'prompt');
  if (hasQ && hasP) return { error: 'has both "question" and "prompt"; keep one' };
  if (!hasQ && !hasP) return { error: 'missing "question" (or "prompt")' };
  const key = hasQ ? 'question' : 'prompt';
  const v = obj[key];
  if (key === 'prompt' && Array.isArray(v)) {
    const m = checkMessages(v, max);
    return typeof m === 'string' ? { error: m } : m;
  }
  if (typeof v !== 'string') return { error: `"${key}" must be a string${key === 'prompt' ? ' or a list of messages' : ''}, got ${kind(v)}` };
  if (v.trim() === '') return { error: `"${key}" is empty` };
  if (v.length > max) return { error: `"${key}" has ${v.length} characters, at most ${max} allowed` };
  return v;
}

function checkAnswer(obj: Record<string, unknown>, max: number): string | { error: string } {
  if (!has(obj, 'answer')) return { error: 'missing "answer"' };
  const a = obj.answer;
  if (typeof a === 'number') return Number.isFinite(a) ? String(a) : { error: '"answer" is not a finite number' };
  if (typeof a !== 'string') return { error: `"answer" must be a string or a number, got ${kind(a)}` };
  if (a.trim() === '') return { error: '"answer" is empty' };
  if (a.length > max) return { error: `"answer" has ${a.length} characters, at most ${max} allowed` };
  return a;
}

/** One line → a row or an error message (without the 'line N: ' prefix). */
function parseLine(src: string, line: number, lim: DatasetLimits): QaRow | string {
  let v: unknown;
  try {
    v = JSON.parse(src);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return `not valid JSON (${why.slice(0, 120)})`;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `expected a JSON object, got ${kind(v)}`;
  const obj = v as Record<string, unknown>;
  const prompt = checkPrompt(obj, lim.maxFieldChars);
  if (typeof prompt === 'object' && !Array.isArray(prompt)) return prompt.error;
  const answer = checkAnswer(obj, lim.maxFieldChars);
  if (typeof answer !== 'string') return answer.error;
  return { line, prompt, answer };
}

/** Parses JSONL text; keeps the good rows and lists every bad line. Throws only for a file over maxChars. */
export function parseQaJsonlLines(text: string, limits: Partial<DatasetLimits> = {}): QaParseResult {
  const lim: DatasetLimits = { ...DEFAULT_DATASET_LIMITS, ...limits };
  if (text.length > lim.maxChars) {
    throw new DatasetError(`the file has ${text.length} characters, at most ${lim.maxChars} allowed`, [], 'split it or keep fewer rows');
  }
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.trimStart().startsWith('[')) {
    return { rows: [], errors: ['line 1: the file is a JSON array; JSONL needs one object per line, without [ ] around them'] };
  }
  const rows: QaRow[] = [];
  const errors: string[] = [];
  let more = 0;
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (src.trim() === '') continue;
    if (rows.length === lim.maxRows) {
      errors.push(`line ${i + 1}: more than ${lim.maxRows} rows; the rest of the file is ignored`);
      break;
    }
    const r = parseLine(src, i + 1, lim);
    if (typeof r !== 'string') rows.push(r);
    else if (errors.length < lim.maxErrors) errors.push(`line ${i + 1}: ${r}`);
    else more++;
  }
  if (more > 0) errors.push(`… and ${more} more bad lines`);
  return { rows, errors };
}

/** Parses JSONL text and throws a DatasetError naming the bad lines if there are any (or no rows). */
export function parseQaJsonl(text: string, limits: Partial<DatasetLimits> = {}): QaRow[] {
  const { rows, errors } = parseQaJsonlLines(text, limits);
  if (errors.length > 0) {
    throw new DatasetError(`${errors.length === 1 ? 'a line is' : `${errors.length} problems`} in the JSONL file; first: ${errors[0]}`, errors, JSONL_HINT);
  }
  if (rows.length === 0) throw new DatasetError('the JSONL file has no rows', [], JSONL_HINT);
  return rows;
}

// ---- prompts -----------------------------------------------------------------------------------

/** DeepSeek-R1-Zero's instruction, used as the system message. */
export const R1_SYSTEM_PROMPT =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. ' +
  'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. ' +
  'The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, ' +
  'i.e., <think> reasoning process here </think> <answer> answer here </answer>.';

/** Chat messages for a row: a question becomes [system R1 prompt, user question]; messages pass through. */
export function buildQaMessages(row: Pick<QaRow, 'prompt'>, systemPrompt: string = R1_SYSTEM_PROMPT): ChatMessage[] {
  if (Array.isArray(row.prompt)) return row.prompt.map((m) => ({ ...m }));
  if (typeof row.prompt !== 'string') throw new TaskError(`row prompt must be a string or messages, got ${kind(row.prompt)}`, 'build rows with parseQaJsonl');
  return [
    { role: 'system', content: systemPrompt },
    { role: 'user', content: row.prompt },
  ];
}

/**
 * Plain-text prompt for base models (no chat template), in TinyZero's base style: the R1
 * instruction, 'User: …', then 'Assistant: <think>' so the completion starts inside the think block.
 */
export function buildR1PromptText(question: string): string {
  return `${R1_SYSTEM_PROMPT}\nUser: ${question}\nAssistant: <think>`;
}
