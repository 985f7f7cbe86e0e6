/**
 * Text from outside (model ids, file names, GGUF metadata, manifest fields) can
 * carry escape sequences that rewrite the terminal, or bidirectional overrides
 * that make it read differently. Human-readable output escapes them; line breaks
 * and tabs of our own layout stay.
 */
// C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and isolates.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes human-readable text to stdout with control characters escaped. */
export function out(text: string): void {
  process.stdout.write(escapeControls(text));
}

/** The same for stderr. */
export function err(text: string): void {
  process.stderr.write(escapeControls(text));
}
