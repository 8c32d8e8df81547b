// Tests for src/formats/json-keys.ts: duplicate keys are found at any depth, through escapes,
// and never confused by brackets, commas or quotes inside strings.

import { describe, expect, it } from 'vitest';
import { depthExceededAt, findDuplicateKey } from '../../src/formats/json-keys';

describe('findDuplicateKey', () => {
  it('returns null for JSON without duplicates', () => {
    expect(findDuplicateKey('{"a":1,"b":{"a":2,"c":[{"a":3},{"a":4}]}}')).toBeNull();
    expect(findDuplicateKey('{"s":"{\\"a\\":1,\\"a\\":2}","t":"a,\\"b"}')).toBeNull();
    expect(findDuplicateKey('[1,"x",{}]')).toBeNull();
  });

  it('finds top-level, nested and escaped duplicates with their path', () => {
    expect(findDuplicateKey('{"a":1,"a":2}')).toMatchObject({ key: 'a', path: [] });
    expect(findDuplicateKey('{"t":{"dtype":"F32","shape":[1],"dtype":"U8"}}')).toMatchObject({ key: 'dtype', path: ['t'] });
    expect(findDuplicateKey('{"ab":1,"\\u0061b":2}')).toMatchObject({ key: 'ab', path: [] });
    expect(findDuplicateKey('{"x":[{"k":1,"k":2}]}')).toMatchObject({ key: 'k', path: ['x', '[]'] });
  });

  it('does not treat string values as keys', () => {
    expect(findDuplicateKey('{"a":"a","b":"a"}')).toBeNull();
    expect(findDuplicateKey('{"a":["b","b"],"b":1}')).toBeNull();
  });
});

describe('depthExceededAt', () => {
  it('counts brackets outside strings only', () => {
    expect(depthExceededAt('{"a":[[1]]}', 3)).toBe(-1);
    expect(depthExceededAt('{"a":[[1]]}', 2)).toBe(6);
    expect(depthExceededAt('{"a":"[[[[[[\\"[["}', 1)).toBe(-1);
  });
});
