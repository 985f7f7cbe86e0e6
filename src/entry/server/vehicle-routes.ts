import { timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { HttpError } from './http-errors.js';
import { parseBody } from './openai-routes.js';

/** Android Automotive's CarUxRestrictions flags (android.car.drivingstate.CarUxRestrictions). */
export const UX_RESTRICTIONS = ['NO_DIALPAD', 'NO_FILTERING', 'LIMIT_STRING_LENGTH', 'NO_KEYBOARD', 'NO_VIDEO', 'LIMIT_CONTENT', 'NO_SETUP', 'NO_TEXT_MESSAGE', 'NO_VOICE_TRANSCRIPTION'] as const;

export const uxRestrictionsSchema = z.strictObject({
  /** True while the car is moving (CarUxRestrictions.isRequiresDistractionOptimization). */
  requiresDistractionOptimization: z.boolean(),
  restrictions: z.array(z.enum(UX_RESTRICTIONS)).max(UX_RESTRICTIONS.length).default([]),
  /** getMaxRestrictedStringLength: the longest text shown while LIMIT_STRING_LENGTH is active. */
  maxStringLength: z.number().int().min(10).max(10_000).default(120),
  /** getMaxCumulativeContentItems: how many items a list shows while LIMIT_CONTENT is active. */
  maxContentItems: z.number().int().min(1).max(100).default(2),
});

export type UxRestrictions = z.output<typeof uxRestrictionsSchema>;

export const UNRESTRICTED: UxRestrictions = { requiresDistractionOptimization: false, restrictions: [], maxStringLength: 120, maxContentItems: 2 };

/** The active restrictions, and who is watching them (each open UI). */
export class UxRestrictionsState {
  private listeners = new Set<(current: UxRestrictions) => void>();

  constructor(public current: UxRestrictions = UNRESTRICTED) {}

  set(next: UxRestrictions): void {
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }

  watch(listener: (current: UxRestrictions) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** `--ux-restrictions NO_KEYBOARD,LIMIT_STRING_LENGTH` (for trying the driving UI): those flags, while driving. */
export function restrictionsFromList(list: readonly string[]): UxRestrictions {
  if (list.length === 0) return UNRESTRICTED;
  return uxRestrictionsSchema.parse({ requiresDistractionOptimization: true, restrictions: list });
}

/**
 * The vehicle integration's routes. The car's side (a CarUxRestrictionsManager
 * listener in the head unit's app) posts the active restrictions with its own
 * secret, `X-Vehicle-Token` (separate from the API token: a web page that got
 * the API token still cannot unlock the driving UI); without a vehicle token
 * configured the post is refused. Every UI listens to the events live.
 */
export function registerVehicleRoutes(app: Hono, state: UxRestrictionsState, vehicleToken: string | undefined): void {
  app.get('/api/vehicle/ux-restrictions', (c) => c.json(state.current));

  app.post('/api/vehicle/ux-restrictions', async (c) => {
    if (!vehicleToken) throw new HttpError(403, 'No vehicle integration is configured', { code: 'vehicle_token_not_configured', hint: 'Start the server with --vehicle-token <secret> (or ONBOARD_VEHICLE_TOKEN) and send it as X-Vehicle-Token.' });
    const given = Buffer.from(c.req.header('x-vehicle-token') ?? '');
    const expected = Buffer.from(vehicleToken);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new HttpError(401, 'Missing or wrong vehicle token', { code: 'invalid_vehicle_token', hint: 'Send the secret the server was started with in X-Vehicle-Token.' });
    const next = await parseBody(c, uxRestrictionsSchema);
    state.set(next);
    return c.json(next);
  });

  app.get('/api/vehicle/ux-restrictions/events', (c) =>
    streamSSE(c, async (sse) => {
      const send = (current: UxRestrictions) => sse.writeSSE({ event: 'restrictions', data: JSON.stringify(current) });
      const closed = new Promise<void>((resolve) => sse.onAbort(() => resolve()));
      await send(state.current);
      const stop = state.watch((current) => void send(current).catch(() => {}));
      // A comment now and then keeps proxies and idle timers from closing a quiet stream.
      const keepAlive = setInterval(() => void sse.write(': keep-alive\n\n').catch(() => {}), 15_000);
      await closed;
      clearInterval(keepAlive);
      stop();
    }),
  );
}
