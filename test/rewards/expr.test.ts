// Expression parser/evaluator: values in exact rationals, precedence, errors with columns, limits.
import { describe, expect, it } from 'vitest';
import { evaluateExpr, formatExprError, rational, ratToString, type ExprResult } from '../../src/rewards/expr';

const value = (src: string): string => {
  const r = evaluateExpr(src);
  if (!r.ok) throw new Error(`parse failed: ${formatExprError(r.error)}`);
  if (r.value === null) throw new Error(`eval failed: ${formatExprError(r.error)}`);
  return ratToString(r.value);
};
const err = (src: string, limits = {}): string => {
  const r: ExprResult = evaluateExpr(src, limits);
  if (r.ok && r.value !== null) throw new Error(`expected an error for ${src}`);
  return formatExprError(r.error);
};

describe('evaluateExpr', () => {
  it('evaluates with usual precedence, left associativity and exact fractions', () => {
    expect(value('1 + 2 * 3')).toBe('7');
    expect(value('(1 + 2) * 3')).toBe('9');
    expect(value('10 - 4 - 3')).toBe('3');
    expect(value('8 / 4 / 2')).toBe('1');
    expect(value('(1 + 2) / 3')).toBe('1');
    expect(value('1 / 3 + 1 / 6')).toBe('1/2');
    expect(value('8 / (3 - 8 / 3)')).toBe('24');
    expect(value('7 / 2')).toBe('7/2');
    expect(value(' \t44+19 +35\n')).toBe('98');
    expect(value('0')).toBe('0');
  });

  it('accepts unary minus and plus (Python eval does, so TinyZero does)', () => {
    expect(value('-3 + 5')).toBe('2');
    expect(value('2 * -3')).toBe('-6');
    expect(value('1 - -2')).toBe('3');
    expect(value('+4')).toBe('4');
    expect(value('-(1 + 2) / 6')).toBe('-1/2');
  });

  it('reports the literals used, in order', () => {
    const r = evaluateExpr('(44 + 19) + 35');
    expect(r.ok && r.literals).toEqual([44n, 19n, 35n]);
  });

  it('rejects everything outside the grammar with a column', () => {
    expect(err('2**3')).toBe("parse error at col 2: '**' (power) is not allowed; only + - * / and parentheses");
    expect(err('2^3')).toMatch(/^parse error at col 2: '\^' is not allowed/);
    expect(err('7 % 2')).toMatch(/col 3: '%' is not allowed/);
    expect(err('7 // 2')).toMatch(/col 3: '\/\/' \(floor division\)/);
    expect(err('1e9')).toMatch(/col 2: exponent notation/);
    expect(err('1.5 + 2')).toMatch(/col 2: decimal point/);
    expect(err('Infinity')).toMatch(/col 1: unexpected word 'Infinity'/);
    expect(err('__proto__')).toMatch(/col 1: unexpected/);
    expect(err('1 + 2 = 3')).toMatch(/col 7: '=' is not allowed/);
    expect(err('1 +\u00a02')).toMatch(/col 4: unexpected character U\+00A0/);
    expect(err('１+2')).toMatch(/col 1: unexpected character U\+FF11/);
    expect(err('05 + 1')).toMatch(/col 1: leading zero in '05'/);
    expect(value('00 + 5')).toBe('5'); // Python 3 accepts 00
    expect(err('')).toBe('parse error at col 1: empty expression');
    expect(err('   ')).toMatch(/empty expression/);
    expect(err('1 +')).toMatch(/col 4: expression ends early/);
    expect(err('(1 + 2')).toMatch(/col 7: missing '\)' to close '\(' at col 1/);
    expect(err('1 + 2)')).toMatch(/col 6: unmatched '\)'/);
    expect(err('2(3)')).toMatch(/col 2: missing operator .*implicit multiplication/);
    expect(err('2 3')).toMatch(/col 3: missing operator before number/);
    expect(err('()')).toMatch(/col 2: unexpected '\)'/);
    expect(err('* 2')).toMatch(/col 1: unexpected '\*'/);
  });

  it('division by zero is an error, not Infinity, and still reports literals', () => {
    expect(err('5 / (3 - 3)')).toBe('division by zero at col 3');
    const r = evaluateExpr('5 / (3 - 3) + 1');
    expect(r.ok && r.literals).toEqual([5n, 3n, 3n, 1n]);
    expect(r.ok && r.value).toBeNull();
    expect(err('1 / 0 + (')).toMatch(/^parse error/); // syntax wins over arithmetic
  });

  it('enforces length, depth, digit and size caps', () => {
    expect(err('1+'.repeat(100) + '1')).toMatch(/col 201: expression has 201 characters, at most 200/);
    expect(err('('.repeat(33) + '1' + ')'.repeat(33))).toMatch(/nesting deeper than 32/);
    expect(value('('.repeat(32) + '1' + ')'.repeat(32))).toBe('1');
    expect(err('-'.repeat(33) + '1')).toMatch(/nesting deeper than 32/);
    expect(err('1234567890')).toMatch(/number has 10 digits, at most 9/);
    expect(value('999999999')).toBe('999999999');
    expect(err('999999999*'.repeat(20) + '9', { maxLength: 1000, maxBits: 256 })).toMatch(/intermediate value exceeds 256 bits at col/);
  });

  it('survives 10,000 levels of parentheses without deep recursion', () => {
    const deep = '('.repeat(10_000) + '1' + ')'.repeat(10_000);
    expect(err(deep, { maxLength: 1_000_000 })).toMatch(/col 33: nesting deeper than 32/);
    expect(err(deep)).toMatch(/at most 200 allowed/);
  });

  it('normalises rationals', () => {
    expect(rational(6n, -4n)).toEqual({ n: -3n, d: 2n });
    expect(rational(0n, 5n)).toEqual({ n: 0n, d: 1n });
    expect(ratToString(rational(10n ** 60n))).toMatch(/^100000000000…\(61 digits\)$/);
  });
});
