/**
 * Cuts the stream at the first stop string. Text that could be the start of
 * a stop string is held back until it is clear, so a stop string split over
 * several tokens never leaks into the output.
 */
export class StopStringMatcher {
  private held = '';
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get hasStopped(): boolean {
    return this.stopped;
  }

  /** Returns the text safe to emit and whether a stop string was reached. */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stopped) return { text: '', stopped: true };
    const buffer = this.held + text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      this.stopped = true;
      this.held = '';
      return { text: buffer.slice(0, cut), stopped: true };
    }
    const keep = this.longestPartialMatch(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** At the end of the stream the held text was not a stop string after all. */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of a stop string. */
  private longestPartialMatch(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, buffer.length); len > best; len--) {
        if (buffer.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
