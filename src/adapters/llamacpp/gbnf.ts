import { quotedEnd, rewriteEbnf } from '../grammar/ebnf-text.js';

/**
 * Rewrites xgrammar's EBNF as the GBNF llama.cpp parses. The two dialects
 * differ in three spellings only, fixed here:
 * - rule names: xgrammar writes `basic_string`, llama.cpp allows [a-zA-Z0-9-];
 * - escapes: llama.cpp knows \x \u \U \t \r \n \\ \" \[ \]; others (\0 \' \? \- \/) become \xNN;
 * - lookahead assertions `(= ...)`: llama.cpp has none. xgrammar adds them only
 *   where they restate what the grammar already requires next (after a JSON
 *   string: a comma, colon or closing bracket), so dropping them keeps the language.
 * A GBNF grammar given by the user passes through unchanged.
 */
export function ebnfToGbnf(ebnf: string): string {
  return rewriteEbnf(ebnf, fixEscapes, (text, at) => {
    const char = text[at]!;
    if (char === '#') {
      const end = text.indexOf('\n', at);
      return { out: '', next: end === -1 ? text.length : end };
    }
    if (char === '(' && /^\(\s*=/.test(text.slice(at, at + 8))) return { out: '', next: groupEnd(text, at) };
    return { out: char === '_' ? '-' : char, next: at + 1 };
  });
}

/** The index after the parenthesised group starting at `start`, skipping literals and classes. */
function groupEnd(text: string, start: number): number {
  let depth = 0;
  let at = start;
  while (at < text.length) {
    const char = text[at]!;
    if (char === '"' || char === '[') {
      at = quotedEnd(text, at);
      continue;
    }
    if (char === '(') depth++;
    if (char === ')' && --depth === 0) return at + 1;
    at++;
  }
  return at;
}

const GBNF_ESCAPES = new Set(['x', 'u', 'U', 't', 'r', 'n', '\\', '"', '[', ']']);

function fixEscapes(literal: string): string {
  return literal.replace(/\\(.)/gsu, (whole, escaped: string) => {
    if (GBNF_ESCAPES.has(escaped)) return whole;
    const code = escaped === '0' ? 0 : escaped.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\U${code.toString(16).padStart(8, '0')}`;
  });
}
