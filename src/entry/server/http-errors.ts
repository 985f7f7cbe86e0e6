import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isOnboardError, QueueFullError } from '../../core/errors.js';

export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string | null; hint?: string };
}

/** Errors of a request's response_format (or tools): the request asked for what cannot be enforced. */
const CONSTRAINT_ERRORS = new Set(['SCHEMA_UNSUPPORTED', 'GRAMMAR_INVALID', 'CONSTRAINT_UNSUPPORTED']);

/** An error as OpenAI clients expect it, with our code and hint kept. */
export function toHttpError(error: unknown): { status: ContentfulStatusCode; body: OpenAiError; headers: Record<string, string> } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { message: error.message, type: error.type, param: error.param, code: error.code, ...(error.hint ? { hint: error.hint } : {}) } }, headers: error.headers };
  if (isOnboardError(error)) {
    const constraint = CONSTRAINT_ERRORS.has(error.code);
    const status: ContentfulStatusCode = error.code === 'QUEUE_FULL' ? 429 : error.code === 'PROMPT_TOO_LONG' || error.code === 'INVALID_OPTION' || constraint ? 400 : error.code === 'CANCELLED' ? 499 as ContentfulStatusCode : error.code === 'THERMAL_CRITICAL' ? 503 : 500;
    const code = error.code === 'PROMPT_TOO_LONG' ? 'context_length_exceeded' : error.code.toLowerCase();
    // A full queue and a device too hot both pass: the client is told when to try again.
    const headers: Record<string, string> = error instanceof QueueFullError ? { 'retry-after': String(error.retryAfterSeconds) } : error.code === 'THERMAL_CRITICAL' ? { 'retry-after': '30' } : {};
    const type = status === 429 ? 'rate_limit_error' : status === 400 ? 'invalid_request_error' : 'server_error';
    const param = error.code === 'INVALID_OPTION' ? String(error.details.option ?? '') || null : error.code === 'PROMPT_TOO_LONG' ? 'messages' : constraint ? 'response_format' : null;
    // The core's option errors speak of CLI flags; over HTTP the fix is in the request.
    const hint = error.code === 'INVALID_OPTION' ? `Fix the request's ${param ?? 'body'} and send it again.` : error.hint;
    return { status, body: { error: { message: error.message, type, param, code, hint } }, headers };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { message: `internal error: ${message}`, type: 'server_error', param: null, code: 'internal_error' } }, headers: {} };
}

export interface HttpErrorOptions {
  /** OpenAI's `code`: a stable word for the failure. */
  code: string;
  /** The request field at fault, when there is one. */
  param?: string | null;
  /** What to do next. */
  hint?: string;
  /** OpenAI's `type`; by default from the status (4xx invalid_request_error, 429 rate_limit_error, 5xx server_error). */
  type?: string;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  readonly type: string;
  readonly param: string | null;
  readonly code: string;
  readonly hint?: string;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    options: HttpErrorOptions,
  ) {
    super(message);
    this.type = options.type ?? (status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.code = options.code;
    if (options.hint) this.hint = options.hint;
    this.headers = options.headers ?? {};
  }
}

export function respondError(c: Context, error: unknown) {
  const { status, body, headers } = toHttpError(error);
  for (const [k, v] of Object.entries(headers)) c.header(k, v);
  return c.json(body, status);
}
