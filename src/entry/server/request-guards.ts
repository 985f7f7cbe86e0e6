import type { Hono, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { methodNotAllowed } from 'hono/method-not-allowed';
import { HttpError, respondError } from './http-errors.js';

/**
 * Defences against a hostile web page in a browser on the same device
 * (docs/security.md): DNS rebinding (Host), cross-site requests (Origin,
 * Content-Type), oversized bodies, and a 405 for a known path with a wrong method.
 */
export interface GuardOptions {
  /** The address the server listens on. */
  listenHost: string;
  /** Extra Host names to accept (`--allowed-host`); "*" accepts any. */
  allowedHosts: readonly string[];
  /** Origins other than the server's own that may call it from a browser (`--cors-origin`). */
  corsOrigins: readonly string[];
  /** The largest request body, in bytes (`--body-limit`). */
  bodyLimitBytes: number;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARD_ADDRESSES = ['0.0.0.0', '::'];

/** The host name of a Host header value (no port, no IPv6 brackets), lower-cased. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']'));
  return value.replace(/:\d*$/, '');
}

export function isLoopbackName(name: string): boolean {
  return LOOPBACK_NAMES.includes(name) || name.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * Accepts only the loopback names, the address it listens on and the allow-list.
 * A page that rebinds its own name to 127.0.0.1 still sends its own name as Host, so it is refused.
 * A server on a wildcard address needs a token (checked at start), which a rebinding page does not have.
 */
export function hostGuard(options: GuardOptions): MiddlewareHandler {
  const listen = hostName(options.listenHost);
  const anyHost = options.allowedHosts.includes('*') || WILDCARD_ADDRESSES.includes(listen);
  const allowed = new Set([listen, ...options.allowedHosts.map(hostName)]);
  return async (c, next) => {
    const name = hostName(c.req.header('host') ?? '');
    if (anyHost || isLoopbackName(name) || allowed.has(name)) return next();
    return respondError(c, new HttpError(403, `Host "${name}" is not one this server answers to`, { code: 'host_not_allowed', hint: 'Use http://127.0.0.1:<port>/ or http://localhost:<port>/, or start the server with --allowed-host <name>.' }));
  };
}

/**
 * A request from a browser carries its page's Origin. The server's own UI (same origin) and
 * the `--cors-origin` list pass; any other origin is refused for every method, and only allowed
 * origins get CORS headers and an answered preflight. Requests without Origin (curl, SDKs) pass.
 */
export function originGuard(options: GuardOptions): MiddlewareHandler {
  const corsOrigins = new Set(options.corsOrigins.map((o) => o.replace(/\/$/, '').toLowerCase()));
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined) return next();
    const normalized = origin.toLowerCase();
    const sameOrigin = normalized === `http://${(c.req.header('host') ?? '').toLowerCase()}`;
    const listed = corsOrigins.has(normalized) || corsOrigins.has('*');
    if (!sameOrigin && !listed) {
      return respondError(c, new HttpError(403, `Requests from the web page at ${origin} are not allowed`, { code: 'origin_not_allowed', hint: 'Only the server\'s own web UI may call it from a browser; start the server with --cors-origin <origin> to allow another page.' }));
    }
    if (listed && !sameOrigin) {
      c.header('access-control-allow-origin', origin);
      c.header('vary', 'Origin');
      if (c.req.method === 'OPTIONS') {
        return c.body(null, 204, {
          'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-max-age': '600',
        });
      }
    }
    return next();
  };
}

/**
 * A body must be declared JSON. Browsers send text/plain, form and multipart bodies cross-site
 * without a preflight; refusing them closes that door even for a page the Origin check misses.
 */
export const jsonBodyGuard: MiddlewareHandler = async (c, next) => {
  // HTTP/1.1: a request has a body exactly when it says so with Content-Length or Transfer-Encoding.
  const length = c.req.header('content-length');
  const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
  if (!hasBody) return next();
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') return next();
  return respondError(c, new HttpError(415, `The body must be JSON (Content-Type: application/json), not ${type || 'undeclared'}`, { code: 'unsupported_media_type', hint: 'Send the header "Content-Type: application/json".' }));
};

export function bodyLimitGuard(options: GuardOptions): MiddlewareHandler {
  const mib = (options.bodyLimitBytes / 2 ** 20).toFixed(options.bodyLimitBytes % 2 ** 20 ? 2 : 0);
  return bodyLimit({
    maxSize: options.bodyLimitBytes,
    onError: (c) => respondError(c, new HttpError(413, `The request body is larger than ${mib} MiB`, { code: 'request_too_large', hint: 'Send a shorter conversation, or start the server with a larger --body-limit.' })),
  });
}

/** A known path asked with a method it does not take: 405 with Allow, in OpenAI's error shape. */
export function wrongMethodGuard(app: Hono): MiddlewareHandler {
  return methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      c.header('allow', methods.join(', '));
      return respondError(c, new HttpError(405, `${c.req.method} is not allowed on ${c.req.path}`, { code: 'method_not_allowed', hint: `Use ${methods.join(' or ')}.` }));
    },
  });
}
