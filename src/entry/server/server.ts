import { randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { ConversationStore } from '../../app/conversations.js';
import { AddressInUseError, InvalidOptionError } from '../../core/errors.js';
import { HttpError, respondError, toHttpError } from './http-errors.js';
import { createMetrics } from './metrics.js';
import type { ModelHost } from './model-host.js';
import type { ThermalGuard } from '../../core/thermal.js';
import { registerOpenAiRoutes } from './openai-routes.js';
import { registerResponsesRoutes } from './responses-routes.js';
import { DEFAULT_STREAM_INTERVAL_MS } from './sse.js';
import { bodyLimitGuard, hostGuard, isLoopbackName, jsonBodyGuard, originGuard, wrongMethodGuard, type GuardOptions } from './request-guards.js';
import { registerUiRoutes } from './ui-routes.js';
import { registerVehicleRoutes, UxRestrictionsState, type UxRestrictions } from './vehicle-routes.js';

export interface ServerOptions extends Partial<Omit<GuardOptions, 'listenHost'>> {
  host: string;
  port: number;
  /** Bearer token; required when the server listens beyond loopback. */
  token?: string;
  modelId: string;
  model: ModelHost;
  store: ConversationStore;
  /** Per-request time limit; the answer ends with finish_reason "length". */
  timeLimitMs: number;
  /** How long a streamed event may wait to be written with the next ones (sse.ts); 0 writes each at once. */
  streamIntervalMs?: number;
  /** Subscribes to engine host restarts, counted in /metrics. */
  onEngineRestart?: (listener: () => void) => void;
  /** One line per request: method, route, status, time, request id. Never a prompt or an answer. */
  log?: (line: string) => void;
  /** The device's thermal state, for /health and /metrics. */
  thermal?: ThermalGuard;
  /** The driving restrictions in force at start (`--ux-restrictions`); the vehicle integration changes them. */
  uxRestrictions?: UxRestrictions;
  /** The vehicle integration's secret (X-Vehicle-Token); without it restrictions cannot be posted. */
  vehicleToken?: string;
}

const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url));
const WEB_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** Bodies up to 4 MiB by default: a long conversation is well under 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 4 * 2 ** 20;

/** Listening beyond loopback needs a token; checked before anything is created or loaded. */
export function checkExposure(host: string, token: string | undefined): void {
  if (!isLoopbackName(host) && !token) {
    throw new InvalidOptionError('--host', `listening on ${host} exposes the model beyond this machine; pass --token <secret> (or ONBOARD_API_TOKEN) so requests must carry it`);
  }
}

/** The HTTP app: OpenAI-compatible API, the web UI and its API, health and metrics. */
export function createHttpApp(options: ServerOptions): { app: Hono; metrics: ReturnType<typeof createMetrics> } {
  checkExposure(options.host, options.token);
  const guards: GuardOptions = {
    listenHost: options.host,
    allowedHosts: options.allowedHosts ?? [],
    corsOrigins: options.corsOrigins ?? [],
    bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
  };
  const metrics = createMetrics(options.model, options.thermal);
  options.onEngineRestart?.(() => metrics.engineRestarts.inc());
  const app = new Hono();
  const ctx = { host: options.model, metrics, modelId: options.modelId, timeLimitMs: options.timeLimitMs, store: options.store, ...(options.thermal ? { thermal: options.thermal } : {}) };

  app.use('*', async (c, next) => {
    // A request id on every answer, the client's own when it sent a sane one, for matching logs and reports.
    const given = c.req.header('x-request-id');
    const id = given && /^[A-Za-z0-9._-]{1,128}$/.test(given) ? given : randomUUID();
    c.header('x-request-id', id);
    const started = performance.now();
    await next();
    metrics.request(c.req.routePath, c.res.status);
    // The path, not the URL: a query string could carry text the user typed.
    if (c.req.path !== '/health') options.log?.(`${new Date().toISOString()} ${c.req.method} ${c.req.path} ${c.res.status} ${Math.round(performance.now() - started)}ms id=${id}`);
  });
  const streamIntervalMs = options.streamIntervalMs ?? DEFAULT_STREAM_INTERVAL_MS;
  app.use('*', async (c, next) => {
    c.set('streamIntervalMs', streamIntervalMs);
    await next();
  });
  app.use('*', hostGuard(guards));
  app.use('*', originGuard(guards));

  if (options.token) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.use('*', async (c, next) => {
      const path = c.req.path;
      if (!(path.startsWith('/v1/') || path.startsWith('/api/') || path === '/metrics')) return next();
      const given = Buffer.from(c.req.header('authorization') ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return respondError(c, new HttpError(401, 'Missing or wrong bearer token', { code: 'invalid_api_key', hint: 'Send "Authorization: Bearer <token>" with the token the server was started with.' }));
      }
      return next();
    });
  }

  app.use('*', bodyLimitGuard(guards));
  app.use('*', jsonBodyGuard);
  app.use('*', wrongMethodGuard(app));

  app.get('/health', (c) => {
    const body = { ...options.model.describe(options.modelId, (error) => toHttpError(error).body.error), ...(options.thermal ? { thermal: options.thermal.reading() } : {}) };
    return c.json(body, body.status === 'ready' ? 200 : 503);
  });

  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  registerOpenAiRoutes(app, ctx);
  registerResponsesRoutes(app, ctx);
  registerUiRoutes(app, ctx);
  registerVehicleRoutes(app, new UxRestrictionsState(options.uxRestrictions), options.vehicleToken);

  for (const [route, file] of Object.entries(WEB_FILES)) {
    app.get(route, async (c) => {
      const body = await readFile(`${WEB_ROOT}${file}`, 'utf8');
      return c.body(body, 200, { 'content-type': CONTENT_TYPES[file.split('.').pop()!] ?? 'text/plain', 'cache-control': 'no-cache' });
    });
  }

  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.notFound((c) => respondError(c, new HttpError(404, `No route ${c.req.method} ${c.req.path}`, { code: 'not_found' })));
  app.onError((error, c) => respondError(c, error));
  return { app, metrics };
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
  /** One request through the server's own stack (see warmHttp); the model host's warm start calls it. */
  warmUp(): Promise<void>;
}

/**
 * Warm start, the HTTP half: once the model is ready, one streamed one-token answer through
 * the server's own stack (guards, schema parsing, the route, SSE), so the first client's
 * request does not pay for code running for the first time. Logged with the id "warm-up".
 */
async function warmHttp(app: Hono, options: ServerOptions): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json', host: '127.0.0.1', 'x-request-id': 'warm-up', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  const response = await app.request('/v1/chat/completions', { method: 'POST', headers, body: JSON.stringify({ messages: [{ role: 'user', content: 'a' }], max_tokens: 1, temperature: 0, stream: true }) });
  await response.text();
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { app } = createHttpApp(options);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}`,
        warmUp: () => warmHttp(app, options),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive connections would hold close() open.
            (server as import('node:http').Server).closeAllConnections?.();
          }),
      });
    });
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new AddressInUseError(`${options.host}:${options.port}`) : error));
  });
}
