/**
 * Reading EBNF/GBNF text piece by piece: string literals and character
 * classes are taken whole (with their escapes), so rewrites of rule names or
 * escapes never touch a literal's content.
 */

/** The index after the string literal (`"..."`) or character class (`[...]`) starting at `start`. */
export function quotedEnd(text: string, start: number): number {
  const close = text[start] === '"' ? '"' : ']';
  let at = start + 1;
  while (at < text.length && text[at] !== close) at += text[at] === '\\' ? 2 : 1;
  return at + 1;
}

/**
 * Rewrites EBNF: `literal` gets each string literal or character class whole,
 * `other` the text from `at` outside them, and says what to write and where it stopped reading.
 */
export function rewriteEbnf(ebnf: string, literal: (text: string) => string, other: (ebnf: string, at: number) => { out: string; next: number }): string {
  let out = '';
  let at = 0;
  while (at < ebnf.length) {
    if (ebnf[at] === '"' || ebnf[at] === '[') {
      const end = quotedEnd(ebnf, at);
      out += literal(ebnf.slice(at, end));
      at = end;
    } else {
      const piece = other(ebnf, at);
      out += piece.out;
      at = piece.next;
    }
  }
  return out;
}

/** Replaces the rule name `from` by `to` wherever it is a whole name, outside literals and classes. */
export function renameRule(ebnf: string, from: string, to: string): string {
  return rewriteEbnf(
    ebnf,
    (text) => text,
    (text, at) => {
      const name = /^[A-Za-z0-9_-]+/.exec(text.slice(at, at + 256))?.[0];
      if (!name) return { out: text[at]!, next: at + 1 };
      return { out: name === from ? to : name, next: at + name.length };
    },
  );
}
