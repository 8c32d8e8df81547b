// Python-compatible string helpers: str.count, split(sep)[-1], len, strip, re.finditer last match.
import { describe, expect, it } from 'vitest';
import { afterLastSplit, codePointLength, countNonOverlapping, lastTagged, pyStrip } from '../../src/rewards/text';

describe('text helpers', () => {
  it('count and split follow Python (non-overlapping, left to right)', () => {
    expect(countNonOverlapping('aaaa', 'aa')).toBe(2);
    expect(countNonOverlapping('\n<answer>\n<answer>\n', '\n<answer>\n')).toBe(1);
    expect(afterLastSplit('\n</answer>\n</answer>\n', '\n</answer>\n')).toBe('</answer>\n');
    expect(afterLastSplit('abc', 'x')).toBe('abc');
    expect(afterLastSplit('a,b,', ',')).toBe('');
  });

  it('len counts code points; strip uses Python whitespace', () => {
    expect(codePointLength('a😀b')).toBe(3);
    expect(codePointLength('\ud800x')).toBe(2); // a lone surrogate is one code point
    expect(pyStrip('\u00a0\x1c 1+2 \u3000\n')).toBe('1+2');
    expect(pyStrip('\u200b1')).toBe('\u200b1'); // zero-width space is not whitespace in Python
  });

  it('lastTagged mirrors re.finditer("<a>(.*?)</a>", DOTALL)[-1]', () => {
    expect(lastTagged('<a>1</a><a>2</a>', '<a>', '</a>')?.content).toBe('2');
    expect(lastTagged('<a><a>1</a>', '<a>', '</a>')?.content).toBe('<a>1');
    expect(lastTagged('<a>1</a><a>2', '<a>', '</a>')?.content).toBe('1');
    expect(lastTagged('<a>\n1\n</a>', '<a>', '</a>')?.content).toBe('\n1\n');
    expect(lastTagged('none', '<a>', '</a>')).toBeNull();
  });
});
