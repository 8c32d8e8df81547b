// Structure scans of untrusted JSON text, pure and iterative: nesting depth (checked before
// JSON.parse, like serde_json's limit of 128) and duplicate keys (JSON.parse keeps the last of two
// equal keys while other parsers keep the first, so duplicates could mean different tensors to
// different tools; we reject them).

export interface DuplicateKey {
  /** the key, decoded (so "a" and "\u0061" are the same key) */
  key: string;
  /** keys of the enclosing objects, outermost first ([] for the top level) */
  path: string[];
  /** UTF-16 index in the text where the second occurrence starts */
  at: number;
}

interface Frame {
  /** null for arrays */
  keys: Set<string> | null;
  expectKey: boolean;
  /** the key under which this container sits in its parent object, if any */
  name: string | null;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;

/** Index just past the closing quote of the string that starts at `start` (a '"'). */
function skipString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i + 1;
    else i++;
  }
  return text.length;
}

/** Index where nesting first goes deeper than `limit` ('[' and '{' outside strings), or -1. */
export function depthExceededAt(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = skipString(text, i) - 1;
    else if (c === LBRACE || c === LBRACKET) {
      if (++depth > limit) return i;
    } else if (c === RBRACE || c === RBRACKET) depth--;
  }
  return -1;
}

/**
 * Returns the first duplicated object key in `text`, or null. `text` must already be valid JSON
 * (call after JSON.parse succeeded): the scanner trusts the syntax and only tracks nesting.
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const stack: Frame[] = [];
  let lastKey: string | null = null;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = stack.length > 0 ? stack[stack.length - 1] : undefined;
    if (c === QUOTE) {
      const end = skipString(text, i);
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        if (top.keys.has(key)) {
          return { key, path: stack.slice(1).map((f) => f.name ?? '[]'), at: i };
        }
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = end;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      const name = top?.keys ? lastKey : null;
      stack.push({ keys: c === LBRACE ? new Set() : null, expectKey: c === LBRACE, name });
    } else if (c === RBRACE || c === RBRACKET) {
      stack.pop();
    } else if (c === COMMA && top?.keys) {
      top.expectKey = true;
    }
    i++;
  }
  return null;
}
