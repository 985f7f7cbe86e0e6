/**
 * Thermal awareness: the device's thermal zones, read by the platform, decide
 * whether generation runs freely, is throttled (above a passive trip point)
 * or is refused (at a critical one). The runner asks before each answer and
 * between tokens; the platform's source (adapters/system/thermal-zones.ts)
 * says what the zones read.
 */
export type ThermalState = 'normal' | 'throttled' | 'critical';

export interface ThermalZone {
  /** The zone's name as the kernel gives it (cpu-thermal, soc_thermal, x86_pkg_temp...). */
  type: string;
  tempC: number;
  /** Trip points: `passive` (the kernel starts cooling), `hot`, `critical` (shutdown), `active` (fans). */
  trips: Array<{ type: string; tempC: number }>;
}

export interface ThermalReading {
  state: ThermalState;
  /** The zone that decided the state (the hottest when all are normal); absent when no zone could be read. */
  zone?: { type: string; tempC: number; tripC?: number; tripType?: string };
  zones: number;
}

/** Where the runner learns the device's thermal state, and how it waits when throttled. */
export interface ThermalGuard {
  reading(): ThermalReading;
  /** The pause after a token while throttled, given how long the token took. */
  pause(tokenMs: number): Promise<void>;
}

const SEVERITY: Record<ThermalState, number> = { normal: 0, throttled: 1, critical: 2 };

/** The state the zones put the device in: the worst zone decides. */
export function thermalStateOf(zones: readonly ThermalZone[]): ThermalReading {
  let worst: ThermalReading = { state: 'normal', zones: zones.length };
  let hottest: ThermalZone | undefined;
  for (const zone of zones) {
    if (!hottest || zone.tempC > hottest.tempC) hottest = zone;
    const critical = zone.trips.filter((t) => t.type === 'critical' || t.type === 'hot').sort((a, b) => a.tempC - b.tempC)[0];
    const passive = zone.trips.filter((t) => t.type === 'passive').sort((a, b) => a.tempC - b.tempC)[0];
    const reached = critical && zone.tempC >= critical.tempC ? { state: 'critical' as const, trip: critical } : passive && zone.tempC >= passive.tempC ? { state: 'throttled' as const, trip: passive } : undefined;
    if (reached && SEVERITY[reached.state] > SEVERITY[worst.state]) {
      worst = { state: reached.state, zone: { type: zone.type, tempC: zone.tempC, tripC: reached.trip.tempC, tripType: reached.trip.type }, zones: zones.length };
    }
  }
  if (worst.state === 'normal' && hottest) worst = { state: 'normal', zone: { type: hottest.type, tempC: hottest.tempC }, zones: zones.length };
  return worst;
}
