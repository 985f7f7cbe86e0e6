import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { thermalStateOf, type ThermalGuard, type ThermalReading, type ThermalZone } from '../../core/thermal.js';

/** Where Linux (and Android) list thermal zones; a folder laid out the same way stands in for it in tests. */
export const DEFAULT_THERMAL_ROOT = '/sys/class/thermal';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The zones under `root`: type, temperature and trip points (millidegrees Celsius in sysfs). Unreadable zones are left out. */
export function readThermalZones(root = DEFAULT_THERMAL_ROOT): ThermalZone[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => /^thermal_zone\d+$/.test(name));
  } catch {
    return [];
  }
  const zones: ThermalZone[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const temp = Number(readText(join(dir, 'temp')));
    if (!Number.isFinite(temp)) continue;
    const trips: ThermalZone['trips'] = [];
    for (let i = 0; ; i++) {
      const type = readText(join(dir, `trip_point_${i}_type`));
      const tripTemp = Number(readText(join(dir, `trip_point_${i}_temp`)));
      if (type === undefined) break;
      if (Number.isFinite(tripTemp) && tripTemp > 0) trips.push({ type, tempC: tripTemp / 1000 });
    }
    zones.push({ type: readText(join(dir, 'type')) ?? name, tempC: temp / 1000, trips });
  }
  return zones;
}

/**
 * Watches the thermal zones every `everyMs` (a sysfs read is cheap, but not
 * per token). Throttling pauses after each token for as long as the token
 * took: the engine's cores then work half the time, whatever the engine, and
 * without reloading it with fewer threads (docs/vehicle.md).
 */
export function thermalMonitor(root = DEFAULT_THERMAL_ROOT, everyMs = 1000): ThermalGuard & { stop(): void } {
  let reading: ThermalReading = thermalStateOf(readThermalZones(root));
  const timer = setInterval(() => {
    reading = thermalStateOf(readThermalZones(root));
  }, everyMs);
  timer.unref();
  return {
    reading: () => reading,
    pause: (tokenMs) => new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(1, tokenMs)))),
    stop: () => clearInterval(timer),
  };
}
