/**
 * Turns a stream of token ids into text pieces that never split a
 * multi-byte character. A token can carry half of a UTF-8 sequence (emoji,
 * Hangul in byte-level BPE); the engine then decodes it to U+FFFD. We hold
 * such tokens back until the character is complete.
 */
const REPLACEMENT = '\uFFFD';
/** A UTF-8 character is at most 4 bytes, so 4 held tokens are enough to complete it. */
const MAX_HELD_TOKENS = 4;
/** Previous tokens decoded along with new ones so tokenizers that look back (leading spaces) decode right. */
const CONTEXT_TOKENS = 4;

export class StreamingDetokenizer {
  private context: number[] = [];
  /** Text of `context`, decoded once when it changes rather than on every token. */
  private contextText = '';
  private pending: number[] = [];

  constructor(private readonly detokenize: (tokens: readonly number[]) => string) {}

  /** Adds one token; returns the text that is now safe to show ('' while holding). */
  push(token: number): string {
    this.pending.push(token);
    const text = this.decodePending();
    if (text.endsWith(REPLACEMENT) && this.pending.length < MAX_HELD_TOKENS) return '';
    return this.commit(text);
  }

  /**
   * Returns whatever is still held (at the end of generation). A character
   * whose last bytes never came (the answer was cut by max tokens) is dropped
   * rather than shown as U+FFFD.
   */
  flush(): string {
    if (this.pending.length === 0) return '';
    return this.commit(this.decodePending()).replace(/\uFFFD+$/, '');
  }

  private decodePending(): string {
    const all = this.detokenize([...this.context, ...this.pending]);
    return all.startsWith(this.contextText) ? all.slice(this.contextText.length) : this.detokenize(this.pending);
  }

  private commit(text: string): string {
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.contextText = this.detokenize(this.context);
    this.pending = [];
    return text;
  }
}
