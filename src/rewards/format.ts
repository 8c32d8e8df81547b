// Format rewards, each `(completion) => number` on the generated text alone:
// - thinkAnswerFormatReward: R1 style `<think>…</think> <answer>…</answer>`, 1 or 0;
// - Unsloth's Qwen2.5 GRPO notebook rewards (xmlcount 0.125/tag, soft and strict format 0.5),
//   reproduced with Python's regex semantics, in linear time, for <reasoning> or any other tag.

import { afterLastSplit, codePointLength, countNonOverlapping, isPyWhitespace } from './text';

export interface FormatDetail {
  score: number;
  reason: string;
}

const isBlank = (s: string): boolean => s.trim() === '';

function tagCount(text: string, tag: string, max: number): string | null {
  const n = countNonOverlapping(text, tag);
  if (n === max) return null;
  return n === 0 ? `missing ${tag}` : `${tag} appears ${n} times`;
}

/**
 * R1 format: [<think>] thinking </think> <answer> answer </answer>, whitespace allowed around the
 * tags. TinyZero's prompts end with "<think>", so a completion may start inside the think block:
 * the opening <think> is optional, but if present it must come first (after whitespace) and only
 * once. Exactly one </think>, <answer> and </answer>, in that order; only whitespace between
 * </think> and <answer> and after </answer> (completions exclude the EOS token); the answer must
 * not be blank. 1 when all hold, else 0.
 */
export function thinkAnswerFormatDetailed(completion: string): FormatDetail {
  const no = (reason: string): FormatDetail => ({ score: 0, reason });
  const lead = completion.length - completion.trimStart().length;
  const opened = completion.startsWith('<think>', lead);
  const opens = countNonOverlapping(completion, '<think>');
  if (opens > (opened ? 1 : 0)) return no(opened ? `<think> appears ${opens} times` : '<think> must come first');
  const problem = tagCount(completion, '</think>', 1) ?? tagCount(completion, '<answer>', 1) ?? tagCount(completion, '</answer>', 1);
  if (problem !== null) return no(problem);
  const thinkEnd = completion.indexOf('</think>');
  const ansOpen = completion.indexOf('<answer>');
  const ansClose = completion.indexOf('</answer>');
  if (!(thinkEnd < ansOpen && ansOpen < ansClose)) return no('tags out of order; expected </think> <answer> </answer>');
  if (!isBlank(completion.slice(thinkEnd + 8, ansOpen))) return no('text between </think> and <answer>');
  if (!isBlank(completion.slice(ansClose + 9))) return no('text after </answer>');
  if (isBlank(completion.slice(ansOpen + 8, ansClose))) return no('empty <answer>');
  return { score: 1, reason: opened ? 'well-formed' : 'well-formed (<think> opened by the prompt)' };
}

export function thinkAnswerFormatReward(completion: string): number {
  return thinkAnswerFormatDetailed(completion).score;
}

// ---- Unsloth notebook rewards ------------------------------------------------------------------

/**
 * count_xml: +0.125 for each of `<tag>\n`, `\n</tag>\n`, `\n<answer>\n`, `\n</answer>` found
 * exactly once (Python str.count); with the answer tags, minus 0.001 per character after
 * `\n</answer>\n` (the whole text's length if that is absent, as in the notebook) and per
 * character after `\n</answer>` beyond the first. Can go negative; max 0.5 (0.501 when the text
 * ends right at `\n</answer>`).
 */
export function xmlCountRewardFor(tag: string): (completion: string) => number {
  return (text: string): number => {
    let count = 0;
    if (countNonOverlapping(text, `<${tag}>\n`) === 1) count += 0.125;
    if (countNonOverlapping(text, `\n</${tag}>\n`) === 1) count += 0.125;
    if (countNonOverlapping(text, '\n<answer>\n') === 1) {
      count += 0.125;
      count -= codePointLength(afterLastSplit(text, '\n</answer>\n')) * 0.001;
    }
    if (countNonOverlapping(text, '\n</answer>') === 1) {
      count += 0.125;
      count -= (codePointLength(afterLastSplit(text, '\n</answer>')) - 1) * 0.001;
    }
    return count;
  };
}

/**
 * strict_format: Python `re.match(r"^<tag>\n.*?\n</tag>\n<answer>\n.*?\n</answer>\n$", text)`
 * without DOTALL, so the reasoning and the answer are one line each, and `$` also matches before
 * one final newline. 0.5 or 0.
 */
export function strictFormatRewardFor(tag: string): (completion: string) => number {
  const open = `<${tag}>\n`;
  const middle = `\n</${tag}>\n<answer>\n`;
  return (text: string): number => {
    if (!text.startsWith(open)) return 0;
    const nl1 = text.indexOf('\n', open.length); // the reasoning line ends at the first newline
    if (nl1 < 0 || !text.startsWith(middle, nl1)) return 0;
    const nl2 = text.indexOf('\n', nl1 + middle.length); // so does the answer line
    if (nl2 < 0 || !text.startsWith('\n</answer>\n', nl2)) return 0;
    const rest = text.slice(nl2 + '\n</answer>\n'.length);
    return rest === '' || rest === '\n' ? 0.5 : 0;
  };
}

/**
 * soft_format: Python `re.match(r"<tag>.*?</tag>\s*<answer>.*?</answer>", text)` without DOTALL:
 * the text starts with <tag>, a </tag> follows on the same line, then whitespace (Python's \s, may
 * span lines), <answer>, and a </answer> on the answer's line; anything may follow. 0.5 or 0.
 * Each candidate </tag> is tried in order, as the regex backtracks; the scans only move forward.
 */
export function softFormatRewardFor(tag: string): (completion: string) => number {
  const open = `<${tag}>`;
  const close = `</${tag}>`;
  return (text: string): number => {
    if (!text.startsWith(open)) return 0;
    const firstNl = text.indexOf('\n', open.length);
    const lineEnd = firstNl < 0 ? text.length : firstNl;
    let closeAns = -2; // cached next '</answer>' at or after some position (-1: none left)
    let nextNl = -2;
    for (let p = text.indexOf(close, open.length); p >= 0 && p + close.length <= lineEnd; p = text.indexOf(close, p + 1)) {
      let r = p + close.length;
      while (r < text.length && isPyWhitespace(text[r])) r++;
      if (!text.startsWith('<answer>', r)) continue;
      const from = r + '<answer>'.length;
      if (closeAns !== -1 && closeAns < from) closeAns = text.indexOf('</answer>', from);
      if (closeAns < 0) return 0; // no '</answer>' anywhere later: no later candidate can match
      if (nextNl !== -1 && nextNl < from) nextNl = text.indexOf('\n', from);
      if (nextNl < 0 || nextNl > closeAns) return 0.5;
    }
    return 0;
  };
}

/** The notebook's functions, with its <reasoning> tag. */
export const xmlCountReward = xmlCountRewardFor('reasoning');
export const strictFormatReward = strictFormatRewardFor('reasoning');
export const softFormatReward = softFormatRewardFor('reasoning');
