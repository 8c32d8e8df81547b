// Custom JSONL datasets: parsing, errors with line numbers, caps, and the R1 prompt builders.
import { describe, expect, it } from 'vitest';
import { buildQaMessages, buildR1PromptText, DatasetError, parseQaJsonl, parseQaJsonlLines, R1_SYSTEM_PROMPT } from '../../src/tasks/dataset';

describe('parseQaJsonl', () => {
  it('reads question/answer and prompt/answer rows, skips blank lines, handles CRLF and BOM', () => {
    const text = '\uFEFF{"question": "What is 6 * 7?", "answer": "42"}\r\n\r\n  \n' +
      '{"prompt": "Capital of France?", "answer": "Paris", "extra": 1}\n' +
      '{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}], "answer": 4}\n';
    const rows = parseQaJsonl(text);
    expect(rows).toEqual([
      { line: 1, prompt: 'What is 6 * 7?', answer: '42' },
      { line: 4, prompt: 'Capital of France?', answer: 'Paris' },
      { line: 5, prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '2+2?' }], answer: '4' },
    ]);
  });

  it('names every bad line with its number', () => {
    const lines = [
      '{"question": "q1", "answer": "a1"}',
      'not json at all',
      '[1, 2]',
      '{"question": "q"}',
      '{"answer": "a"}',
      '{"question": "q", "prompt": "p", "answer": "a"}',
      '{"question": 5, "answer": "a"}',
      '{"question": "q", "answer": {"x": 1}}',
      '{"question": "  ", "answer": "a"}',
      '{"prompt": [{"role": "tool", "content": "x"}], "answer": "a"}',
      '{"prompt": [], "answer": "a"}',
      '{"question": "q", "answer": ""}',
      '{"__proto__": {"answer": "x"}, "question": "q"}',
    ];
    const { rows, errors } = parseQaJsonlLines(lines.join('\n'));
    expect(rows).toHaveLength(1);
    expect(errors[0]).toMatch(/^line 2: not valid JSON \(/);
    expect(errors.slice(1)).toEqual([
      'line 3: expected a JSON object, got an array',
      'line 4: missing "answer"',
      'line 5: missing "question" (or "prompt")',
      'line 6: has both "question" and "prompt"; keep one',
      'line 7: "question" must be a string, got number',
      'line 8: "answer" must be a string or a number, got object',
      'line 9: "question" is empty',
      'line 10: "prompt"[0].role must be "system", "user" or "assistant", got "tool"',
      'line 11: "prompt" is an empty list of messages',
      'line 12: "answer" is empty',
      'line 13: missing "answer"',
    ]);
    expect(() => parseQaJsonl(lines.join('\n'))).toThrow(/12 problems in the JSONL file; first: line 2: not valid JSON/);
    try {
      parseQaJsonl(lines.join('\n'));
    } catch (e) {
      expect(e).toBeInstanceOf(DatasetError);
      expect((e as DatasetError).errors).toHaveLength(12);
      expect((e as DatasetError).hint).toMatch(/one JSON object/);
    }
  });

  it('explains a JSON array file, an empty file, and enforces caps', () => {
    expect(parseQaJsonlLines('[\n {"question": "q", "answer": "a"}\n]').errors).toEqual(['line 1: the file is a JSON array; JSONL needs one object per line, without [ ] around them']);
    expect(() => parseQaJsonl('\n\n')).toThrow(/no rows/);
    expect(() => parseQaJsonlLines('x'.repeat(101), { maxChars: 100 })).toThrow(/101 characters, at most 100/);
    const many = Array.from({ length: 5 }, (_, i) => `{"question": "q${i}", "answer": "${i}"}`).join('\n');
    const capped = parseQaJsonlLines(many, { maxRows: 3 });
    expect(capped.rows).toHaveLength(3);
    expect(capped.errors).toEqual(['line 4: more than 3 rows; the rest of the file is ignored']);
    expect(parseQaJsonlLines('{"question": "long question", "answer": "a"}', { maxFieldChars: 5 }).errors).toEqual(['line 1: "question" has 13 characters, at most 5 allowed']);
    const bad = parseQaJsonlLines(Array.from({ length: 60 }, () => 'x').join('\n'), { maxErrors: 50 });
    expect(bad.errors).toHaveLength(51);
    expect(bad.errors.at(-1)).toBe('… and 10 more bad lines');
  });
});

describe('prompts', () => {
  it('wraps a question in the R1 system prompt; passes messages through', () => {
    expect(buildQaMessages({ prompt: 'What is 6 * 7?' })).toEqual([
      { role: 'system', content: R1_SYSTEM_PROMPT },
      { role: 'user', content: 'What is 6 * 7?' },
    ]);
    expect(R1_SYSTEM_PROMPT).toMatch(/<think> reasoning process here <\/think> <answer> answer here <\/answer>/);
    const msgs = [{ role: 'user' as const, content: 'hi' }];
    expect(buildQaMessages({ prompt: msgs })).toEqual(msgs);
    expect(buildQaMessages({ prompt: 'q' }, 'custom')[0].content).toBe('custom');
    expect(buildR1PromptText('What is 6 * 7?')).toBe(`${R1_SYSTEM_PROMPT}\nUser: What is 6 * 7?\nAssistant: <think>`);
  });
});
