import type { Context } from 'hono';
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { streamSSE } from 'hono/streaming';
import type { GenerationChunk, LogprobEntry } from '../../core/types.js';

type Done = Extract<GenerationChunk, { type: 'done' }>;

/**
 * How long an event may wait to go out with the ones after it (see EventWriter): one frame of a
 * 60 Hz display, so a reader never sees the difference, while a client on the same device wakes
 * for every two or three tokens of a fast engine instead of every one.
 */
export const DEFAULT_STREAM_INTERVAL_MS = 16;

declare module 'hono' {
  interface ContextVariableMap {
    /** `--stream-interval`, set for every request by the app (server.ts). */
    streamIntervalMs: number;
  }
}

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
  const writer = new EventWriter(outgoing, () => abort.abort(), c.get('streamIntervalMs') ?? DEFAULT_STREAM_INTERVAL_MS);
  void pump(first, stream, events, writer.send, () => writer.startHolding()).finally(() => writer.end());
  return RESPONSE_ALREADY_SENT;
}

/** Writes the generation's events with `send`; however it ends, the generation is ended. */
async function pump(first: IteratorResult<GenerationChunk>, stream: AsyncGenerator<GenerationChunk>, events: GenerationEvents, send: SendEvent, afterFirst?: () => void): Promise<void> {
  try {
    await events.open?.(send);
    for (let next = first; !next.done; ) {
      // Ask for the next token before writing this one: the engine decodes while the event is
      // written, instead of waiting for the write (and the client) on every token.
      const following = stream.next();
      following.catch(() => {}); // awaited below; until then a failure must not count as unhandled
      if (next.value.type === 'text') await events.text(next.value.text, send, next.value.logprobs);
      else await events.done(next.value, send);
      if (next === first) afterFirst?.();
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

/**
 * Server-sent events on a Node response; a closed one calls `onClose` once. After the first
 * token, an event less than `intervalMs` after the last write is held and goes out with the
 * next one that is not, or when the interval ends: one write, and one wake-up of the client,
 * for a frame's worth of tokens instead of one each. While the socket is full, senders wait.
 */
class EventWriter {
  private closed = false;
  /** Off until the first token is out: the time to the first token never waits. */
  private holding = false;
  private held = '';
  private timer: NodeJS.Timeout | undefined;
  private lastWrite = -Infinity;
  /** Pending while the socket is full (until 'drain' or 'close'). */
  private full: Promise<void> | undefined;

  constructor(
    private readonly outgoing: ServerResponse,
    onClose: () => void,
    private readonly intervalMs: number,
  ) {
    outgoing.on('error', () => {}); // a reset socket: 'close' follows, which is what counts
    outgoing.once('close', () => {
      this.closed = true;
      clearTimeout(this.timer);
      if (!outgoing.writableFinished) onClose();
    });
  }

  readonly send: SendEvent = (data, event) => {
    if (this.closed) return WRITTEN;
    this.held += `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    const since = performance.now() - this.lastWrite;
    if (!this.holding || since >= this.intervalMs) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs - since);
    return this.full ?? WRITTEN;
  };

  startHolding(): void {
    this.holding = true;
  }

  /** Writes what is held. */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastWrite = performance.now();
    if (this.closed || !this.held) return;
    const room = this.outgoing.write(this.held);
    this.held = '';
    if (room || this.full) return;
    this.full = new Promise<void>((resolve) => {
      const done = () => {
        this.outgoing.off('drain', done).off('close', done);
        this.full = undefined;
        resolve();
      };
      this.outgoing.on('drain', done).on('close', done);
    });
  }

  end(): void {
    if (this.closed) return;
    this.flush();
    this.outgoing.end();
  }
}

const WRITTEN = Promise.resolve();
