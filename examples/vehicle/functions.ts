// The vehicle's functions as tools a model can call: climate, navigation,
// media and windows, each with a zod schema for its arguments and a handler.
// The vehicle itself is simulated (SimulatedVehicle): on a head unit the
// handlers would call the car's own services (Android Automotive's CarPropertyManager...).
import { z } from 'zod';
import type { Tool } from '../../src/index.js';

/** A car's state, simulated: what the handlers change instead of real hardware. */
export class SimulatedVehicle {
  climate = { temperature: 20, zone: 'all' as 'driver' | 'passenger' | 'all', fan: 2 };
  destination: string | undefined;
  media = { playing: false, volume: 10 };
  windows: Record<'front-left' | 'front-right' | 'rear-left' | 'rear-right', number> = { 'front-left': 0, 'front-right': 0, 'rear-left': 0, 'rear-right': 0 };
}

export function vehicleTools(car: SimulatedVehicle): Tool[] {
  return [
    {
      name: 'set_climate',
      description: 'Set the cabin temperature in degrees Celsius, for the driver, the passenger or everyone.',
      parameters: z.object({ temperature: z.int().min(16).max(28), zone: z.enum(['driver', 'passenger', 'all']) }),
      handler: (args) => {
        Object.assign(car.climate, args);
        return { ok: true, climate: car.climate };
      },
    },
    {
      name: 'navigate_to',
      description: 'Start navigation to a destination: an address or a place name.',
      parameters: z.object({ destination: z.string().min(1).max(60) }),
      handler: (args) => {
        car.destination = String(args.destination);
        return { ok: true, etaMinutes: 18 };
      },
    },
    {
      name: 'control_media',
      description: 'Play, pause or skip music, and set the volume from 0 to 30.',
      parameters: z.object({ action: z.enum(['play', 'pause', 'next', 'previous']), volume: z.int().min(0).max(30).optional() }),
      handler: (args) => {
        car.media.playing = args.action !== 'pause';
        if (typeof args.volume === 'number') car.media.volume = args.volume;
        return { ok: true, media: car.media };
      },
    },
    {
      name: 'set_window',
      description: 'Open a window to a percentage (0 is closed, 100 fully open).',
      parameters: z.object({ window: z.enum(['front-left', 'front-right', 'rear-left', 'rear-right']), open_percent: z.int().min(0).max(100) }),
      handler: (args) => {
        car.windows[args.window as keyof SimulatedVehicle['windows']] = Number(args.open_percent);
        return { ok: true, windows: car.windows };
      },
    },
  ];
}
