import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { GenerationChunk, LogprobEntry } from '../../core/types.js';

type Done = Extract<GenerationChunk, { type: 'done' }>;

/** Writes one server-sent event: an object as JSON, or a string as is. */
export type SendEvent = (data: object | string, event?: string) => Promise<void>;

/** How one route turns a generation into events. */
export interface GenerationEvents {
  open?(send: SendEvent): Promise<void>;
  /** A piece of the answer; `logprobs`, when asked, of the tokens it came from. */
  text(text: string, send: SendEvent, logprobs?: LogprobEntry[]): Promise<void>;
  done(done: Done, send: SendEvent): Promise<void>;
  /** After the last chunk, when the generation ended without an error. */
  end?(send: SendEvent): Promise<void>;
  /** A failure after the first byte, when no status code can say it any more. */
  failed(error: unknown, send: SendEvent): Promise<void>;
  /** Always, last. */
  cleanup?(): void;
}

/**
 * The one SSE writer for generations: streams `first` and the rest of
 * `stream` as the route's events; a client that goes away aborts the
 * generation, and however the stream ends the generation is ended, which
 * frees its KV-cache sequence.
 */
export function streamGeneration(c: Context, first: IteratorResult<GenerationChunk>, stream: AsyncGenerator<GenerationChunk>, abort: AbortController, events: GenerationEvents) {
  return streamSSE(c, async (sse) => {
    sse.onAbort(() => abort.abort());
    const send: SendEvent = (data, event) => sse.writeSSE({ data: typeof data === 'string' ? data : JSON.stringify(data), ...(event ? { event } : {}) });
    try {
      await events.open?.(send);
      for (let next = first; !next.done; ) {
        // Ask for the next token before writing this one: the engine decodes while the event is
        // written, instead of waiting for the write (and the client) on every token.
        const following = stream.next();
        following.catch(() => {}); // awaited below; until then a failure must not count as unhandled
        if (next.value.type === 'text') await events.text(next.value.text, send, next.value.logprobs);
        else await events.done(next.value, send);
        next = await following;
      }
      await events.end?.(send);
    } catch (error) {
      await events.failed(error, send).catch(() => {});
    } finally {
      await stream.return(undefined);
      events.cleanup?.();
    }
  });
}
