import { freemem } from 'node:os';
import type { MemoryProbe } from '../../core/engine.js';

/** Peak resident set size of this process (Linux reports maxRSS in KiB). */
export const processMemoryProbe: MemoryProbe = {
  peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
};

/** Memory the OS can give us now (libuv reads MemAvailable on Linux). */
export function availableMemoryBytes(): number {
  return freemem();
}
