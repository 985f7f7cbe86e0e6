import type { Clock } from '../../core/engine.js';

/** Node's monotonic clock, for the core's timings. */
export const performanceClock: Clock = { now: () => performance.now() };
