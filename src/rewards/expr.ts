// Arithmetic expressions for Countdown answers: a recursive-descent parser that evaluates as it
// parses, in exact rational arithmetic (BigInt numerator/denominator). Never eval/Function.
// Grammar:  sum := product (('+' | '-') product)*   product := unary (('*' | '/') unary)*
//           unary := ('+' | '-') unary | primary      primary := INT | '(' sum ')'
// INT: ASCII digits, as Python 3 reads them ('0', '00' ok; '05' not). Whitespace: [ \t\n\r\f\v].

/** A normalised fraction: d > 0 and gcd(|n|, d) = 1; zero is 0/1. */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

export interface ExprLimits {
  /** characters in the whole expression */
  maxLength: number;
  /** nesting of parentheses and unary signs together; bounds the parser's recursion */
  maxDepth: number;
  /** digits in one integer literal */
  maxDigits: number;
  /** bits in any intermediate numerator or denominator; bounds the cost of each operation */
  maxBits: number;
}

export const DEFAULT_EXPR_LIMITS: Readonly<ExprLimits> = { maxLength: 200, maxDepth: 32, maxDigits: 9, maxBits: 4096 };

/** syntax: not an expression; limit: a length/depth/digits cap; arithmetic: division by zero or a value over maxBits. */
export interface ExprError {
  kind: 'syntax' | 'limit' | 'arithmetic';
  /** 1-based column (UTF-16 unit) in the source where the problem is */
  col: number;
  message: string;
  hint: string;
}

/**
 * ok=false: the text is not a valid expression (or hit a parse-time limit).
 * ok=true, value=null: valid syntax, but evaluation failed (division by zero, value too large);
 * the literals are still reported so callers can check which numbers were used.
 */
export type ExprResult =
  | { ok: false; error: ExprError }
  | { ok: true; literals: bigint[]; value: Rational }
  | { ok: true; literals: bigint[]; value: null; error: ExprError };

// ---- rationals -------------------------------------------------------------------------------

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** n/d normalised; throws RangeError for d = 0 (callers check first). */
export function rational(n: bigint, d: bigint = 1n): Rational {
  if (d === 0n) throw new RangeError('rational: zero denominator');
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g === 1n ? { n, d } : { n: n / g, d: d / g };
}

export const ratAdd = (a: Rational, b: Rational): Rational => rational(a.n * b.d + b.n * a.d, a.d * b.d);
export const ratSub = (a: Rational, b: Rational): Rational => rational(a.n * b.d - b.n * a.d, a.d * b.d);
export const ratMul = (a: Rational, b: Rational): Rational => rational(a.n * b.n, a.d * b.d);
/** a / b, or null when b is zero */
export const ratDiv = (a: Rational, b: Rational): Rational | null => (b.n === 0n ? null : rational(a.n * b.d, a.d * b.n));
export const ratEquals = (a: Rational, b: Rational): boolean => a.n === b.n && a.d === b.d;
export const ratIsInteger = (a: Rational): boolean => a.d === 1n;

/** '12', '-7/3'; numbers longer than maxChars digits are shortened to '1234…(95 digits)'. */
export function ratToString(a: Rational, maxChars = 40): string {
  const short = (x: bigint): string => {
    const s = x.toString();
    const digits = s.startsWith('-') ? s.length - 1 : s.length;
    return s.length <= maxChars ? s : `${s.slice(0, 12)}…(${digits} digits)`;
  };
  return a.d === 1n ? short(a.n) : `${short(a.n)}/${short(a.d)}`;
}

// ---- tokens ----------------------------------------------------------------------------------

type Token =
  | { t: 'int'; col: number; value: bigint }
  | { t: '+' | '-' | '*' | '/' | '(' | ')'; col: number };

class Fail {
  constructor(readonly error: ExprError) {}
}

const GRAMMAR_HINT = 'write whole numbers joined by + - * / with parentheses, e.g. (1 + 2) / 3';

function syntax(col: number, message: string, hint = GRAMMAR_HINT): Fail {
  return new Fail({ kind: 'syntax', col, message, hint });
}

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return cp >= 0x21 && cp <= 0x7e ? `'${ch}'` : `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

const isWs = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/** Explains a character the grammar does not allow. `prev` is the previous non-space char. */
function badChar(src: string, i: number): Fail {
  const c = src[i];
  const col = i + 1;
  if (c === '^') return syntax(col, "'^' is not allowed; only + - * / and parentheses");
  if (c === '%') return syntax(col, "'%' is not allowed; only + - * / and parentheses");
  if (c === '.') return syntax(col, "decimal point is not allowed; use whole numbers");
  if (c === '=') return syntax(col, "'=' is not allowed; give only the expression, without '= result'");
  if (/[a-zA-Z]/.test(c)) {
    const word = /^[a-zA-Z_]+/.exec(src.slice(i, i + 20))?.[0] ?? c;
    const exp = (c === 'e' || c === 'E') && i > 0 && isDigit(src[i - 1]);
    return syntax(col, exp ? 'exponent notation is not allowed' : `unexpected word '${word}'; only numbers and + - * / ( ) are allowed`);
  }
  return syntax(col, `unexpected ${describeChar(c)}; only digits, + - * / and parentheses are allowed`);
}

function tokenize(src: string, lim: ExprLimits): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (isWs(c)) { i++; continue; }
    if (isDigit(c)) {
      let j = i;
      while (j < src.length && isDigit(src[j])) j++;
      if (j - i > lim.maxDigits) {
        return fail(new Fail({ kind: 'limit', col: i + 1, message: `number has ${j - i} digits, at most ${lim.maxDigits} allowed`, hint: 'use the given numbers only' }));
      }
      // Python 3 accepts '0' and '000' but not '05'
      if (c === '0' && /[1-9]/.test(src.slice(i, j))) return fail(syntax(i + 1, `leading zero in '${src.slice(i, j)}' is not allowed`));
      out.push({ t: 'int', col: i + 1, value: BigInt(src.slice(i, j)) });
      i = j;
      continue;
    }
    if (c === '*' && src[i + 1] === '*') return fail(syntax(i + 1, "'**' (power) is not allowed; only + - * / and parentheses"));
    if (c === '/' && src[i + 1] === '/') return fail(syntax(i + 1, "'//' (floor division) is not allowed; use '/'"));
    if (c === '+' || c === '-' || c === '*' || c === '/' || c === '(' || c === ')') {
      out.push({ t: c, col: i + 1 });
      i++;
      continue;
    }
    return fail(badChar(src, i));
  }
  return out;
}

function fail(f: Fail): never {
  throw f;
}

// ---- parser + evaluator ------------------------------------------------------------------------

interface Parser {
  toks: Token[];
  pos: number;
  lim: ExprLimits;
  /** column just past the source, for "ends early" errors */
  endCol: number;
  cap: bigint;
  literals: bigint[];
  /** first arithmetic failure; later values are null (poisoned) but parsing goes on */
  evalError: ExprError | null;
}

function tooDeep(p: Parser, col: number): Fail {
  return new Fail({ kind: 'limit', col, message: `nesting deeper than ${p.lim.maxDepth} levels`, hint: 'use fewer parentheses and signs' });
}

function poison(p: Parser, error: ExprError): null {
  p.evalError ??= error;
  return null;
}

function apply(p: Parser, op: '+' | '-' | '*' | '/', col: number, a: Rational | null, b: Rational | null): Rational | null {
  if (a === null || b === null) return null;
  let r: Rational | null;
  if (op === '+') r = ratAdd(a, b);
  else if (op === '-') r = ratSub(a, b);
  else if (op === '*') r = ratMul(a, b);
  else r = ratDiv(a, b);
  if (r === null) return poison(p, { kind: 'arithmetic', col, message: 'division by zero', hint: 'the divisor evaluates to 0' });
  const absN = r.n < 0n ? -r.n : r.n;
  if (absN >= p.cap || r.d >= p.cap) {
    return poison(p, { kind: 'arithmetic', col, message: `intermediate value exceeds ${p.lim.maxBits} bits`, hint: 'the expression grows too large to check' });
  }
  return r;
}

function parseSum(p: Parser, depth: number): Rational | null {
  let v = parseProduct(p, depth);
  for (let tok = p.toks[p.pos]; tok && (tok.t === '+' || tok.t === '-'); tok = p.toks[p.pos]) {
    p.pos++;
    v = apply(p, tok.t, tok.col, v, parseProduct(p, depth));
  }
  return v;
}

function parseProduct(p: Parser, depth: number): Rational | null {
  let v = parseUnary(p, depth);
  for (let tok = p.toks[p.pos]; tok && (tok.t === '*' || tok.t === '/'); tok = p.toks[p.pos]) {
    p.pos++;
    v = apply(p, tok.t, tok.col, v, parseUnary(p, depth));
  }
  return v;
}

function parseUnary(p: Parser, depth: number): Rational | null {
  const tok = p.toks[p.pos];
  if (tok && (tok.t === '+' || tok.t === '-')) {
    if (depth + 1 > p.lim.maxDepth) throw tooDeep(p, tok.col);
    p.pos++;
    const v = parseUnary(p, depth + 1);
    return tok.t === '-' && v !== null ? { n: -v.n, d: v.d } : v;
  }
  return parsePrimary(p, depth);
}

function parsePrimary(p: Parser, depth: number): Rational | null {
  const tok = p.toks[p.pos];
  if (!tok) throw syntax(p.endCol, "expression ends early; expected a number or '('");
  if (tok.t === 'int') {
    p.pos++;
    p.literals.push(tok.value);
    return { n: tok.value, d: 1n };
  }
  if (tok.t === '(') {
    if (depth + 1 > p.lim.maxDepth) throw tooDeep(p, tok.col);
    p.pos++;
    const v = parseSum(p, depth + 1);
    const close = p.toks[p.pos];
    if (!close || close.t !== ')') throw syntax(close?.col ?? p.endCol, `missing ')' to close '(' at col ${tok.col}`);
    p.pos++;
    return v;
  }
  if (tok.t === ')') throw syntax(tok.col, "unexpected ')'; expected a number or '('");
  throw syntax(tok.col, `unexpected '${tok.t}'; expected a number or '('`);
}

function trailing(tok: Token): Fail {
  if (tok.t === ')') return syntax(tok.col, "unmatched ')'");
  if (tok.t === '(' || tok.t === 'int') {
    return syntax(tok.col, `missing operator before ${tok.t === '(' ? "'('" : 'number'} (implicit multiplication is not allowed)`, "write the '*' explicitly, e.g. 2 * (3 + 4)");
  }
  return syntax(tok.col, `unexpected '${tok.t}'`);
}

/**
 * Parses and evaluates `src` exactly. Never throws for any input string; work is linear in
 * src.length, which is capped by limits.maxLength.
 */
export function evaluateExpr(src: string, limits: Partial<ExprLimits> = {}): ExprResult {
  const lim: ExprLimits = { ...DEFAULT_EXPR_LIMITS, ...limits };
  if (src.length > lim.maxLength) {
    return { ok: false, error: { kind: 'limit', col: lim.maxLength + 1, message: `expression has ${src.length} characters, at most ${lim.maxLength} allowed`, hint: 'give only the expression, e.g. (1 + 2) / 3' } };
  }
  try {
    const toks = tokenize(src, lim);
    if (toks.length === 0) return { ok: false, error: { kind: 'syntax', col: 1, message: 'empty expression', hint: GRAMMAR_HINT } };
    const p: Parser = { toks, pos: 0, lim, endCol: src.length + 1, cap: 1n << BigInt(lim.maxBits), literals: [], evalError: null };
    const value = parseSum(p, 0);
    if (p.pos < toks.length) throw trailing(toks[p.pos]);
    if (value === null) return { ok: true, literals: p.literals, value: null, error: p.evalError ?? { kind: 'arithmetic', col: 1, message: 'no value', hint: GRAMMAR_HINT } };
    return { ok: true, literals: p.literals, value };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, error: e.error };
    throw e;
  }
}

/** 'parse error at col 5: …' for syntax/limit errors, 'division by zero at col 7' for arithmetic ones. */
export function formatExprError(e: ExprError): string {
  return e.kind === 'arithmetic' ? `${e.message} at col ${e.col}` : `parse error at col ${e.col}: ${e.message}`;
}
