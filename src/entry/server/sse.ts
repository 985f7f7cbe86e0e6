import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { streamSSE } from 'hono/streaming';
import type { GenerationChunk, LogprobEntry } from '../../core/types.js';

type Done = Extract<GenerationChunk, { type: 'done' }>;

/** Writes one server-sent event: an object as JSON, or a string (one line) as is. */
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
 *
 * Events go straight to Node's response, not through hono's web stream: on a
 * device whose engine keeps every core busy, the stream's per-chunk plumbing
 * (about 0.12 ms a token) was taken from the forward (docs/benchmarks.md).
 */
export function streamGeneration(c: Context, first: IteratorResult<GenerationChunk>, stream: AsyncGenerator<GenerationChunk>, abort: AbortController, events: GenerationEvents): Response {
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (!outgoing) {
    // Not under Node's server (the warm-up's app.request, another runtime): hono's web stream.
    return streamSSE(c, async (sse) => {
      sse.onAbort(() => abort.abort());
      await pump(first, stream, events, (data, event) => sse.writeSSE({ data: typeof data === 'string' ? data : JSON.stringify(data), ...(event ? { event } : {}) }));
    });
  }
  // The headers the middleware set (request id, CORS) with the stream's own.
  const head = c.body(null, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  outgoing.writeHead(200, Object.fromEntries(head.headers));
  outgoing.flushHeaders();
  const writer = new EventWriter(outgoing, () => abort.abort());
  void pump(first, stream, events, writer.send).finally(() => writer.end());
  return RESPONSE_ALREADY_SENT;
}

/** Writes the generation's events with `send`; however it ends, the generation is ended. */
async function pump(first: IteratorResult<GenerationChunk>, stream: AsyncGenerator<GenerationChunk>, events: GenerationEvents, send: SendEvent): Promise<void> {
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
    await stream.return(undefined).catch(() => {});
    events.cleanup?.();
  }
}

/** Server-sent events on a Node response, waiting when the socket is full; a closed one calls `onClose` once. */
class EventWriter {
  private closed = false;

  constructor(
    private readonly outgoing: ServerResponse,
    onClose: () => void,
  ) {
    outgoing.on('error', () => {}); // a reset socket: 'close' follows, which is what counts
    outgoing.once('close', () => {
      this.closed = true;
      if (!outgoing.writableFinished) onClose();
    });
  }

  readonly send: SendEvent = (data, event) => {
    if (this.closed) return WRITTEN;
    const text = `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    if (this.outgoing.write(text)) return WRITTEN;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.outgoing.off('drain', done).off('close', done);
        resolve();
      };
      this.outgoing.on('drain', done).on('close', done);
    });
  };

  end(): void {
    if (!this.closed) this.outgoing.end();
  }
}

const WRITTEN = Promise.resolve();
