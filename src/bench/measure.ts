import { seededRandom } from '../core/logit-sampler.js';

/** What one benchmark run reports; the same fields for onboard and the raw reference. */
export interface RunResult {
  loadMs: number;
  timeToFirstTokenMs: number;
  promptTokens: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  peakRssBytes: number;
  /** Where the engine runs in a host process of its own: that process's peak RSS alone (included in peakRssBytes). */
  hostPeakRssBytes?: number;
  /** Multi-turn case (onboard only): turn 8 with KV-cache reuse vs the same prompt prefilled from scratch. */
  multiTurn?: { turn: number; promptTokens: number; reuseTtftMs: number; reusePrefillTokens: number; fullTtftMs: number; fullPrefillTokens: number };
}

export interface BenchSettings {
  modelPath: string;
  threads: number;
  contextSize: number;
  maxTokens: number;
  prompt: string;
  /** The prompt as onboard renders and tokenizes it, for the raw reference. */
  promptTokens: number[];
}

export const BENCH_PROMPT = 'Write a long story about a lighthouse keeper who finds a message in a bottle.';
export const FOLLOW_UPS = [
  'What was written in the message?',
  'Who sent it?',
  'What did the keeper do next?',
  'Describe the lighthouse.',
  'What season was it?',
  'How did the story end?',
  'Give the story a title.',
];

export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A distribution-free 95% confidence interval for the median: the order statistics the binomial
 * distribution of "samples below the median" puts 95% between (normal approximation, as in
 * Conover's "Practical Nonparametric Statistics"). It needs no assumption about the noise, which
 * on a shared VM is neither normal nor symmetric; with fewer than 8 values it is the whole range.
 */
export function medianInterval(values: number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  const low = Math.max(0, Math.floor(n / 2 - half) - 1);
  const high = Math.min(n - 1, Math.ceil(n / 2 + half) - 1);
  return [sorted[low]!, sorted[high]!];
}

/**
 * The order of a round's paths: shuffled, seeded by the round, so a rerun takes the same orders.
 * Rotating one fixed order would give every path the same predecessor in every round, and on a
 * shared VM what ran just before moves a fresh process's time to first token by a fifth (raw
 * node-llama-cpp after a one-thread decode: 164.5 ms, after a two-thread one: 198.0 ms, median
 * of 10 each); shuffled, that falls on every path alike.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const order = [...items];
  const random = seededRandom(Math.imul(round + 1, 0x9e3779b9));
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
