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

/** Replaces the rule name `from` by `to` wherever it is a whole name, outside literals and classes. */
export function renameRule(ebnf: string, from: string, to: string): string {
  let out = '';
  let at = 0;
  while (at < ebnf.length) {
    const char = ebnf[at]!;
    if (char === '"' || char === '[') {
      const end = quotedEnd(ebnf, at);
      out += ebnf.slice(at, end);
      at = end;
      continue;
    }
    const name = /^[A-Za-z0-9_-]+/.exec(ebnf.slice(at, at + 256))?.[0];
    if (name) {
      out += name === from ? to : name;
      at += name.length;
      continue;
    }
    out += char;
    at++;
  }
  return out;
}
