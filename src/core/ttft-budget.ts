/**
 * The response-time budget (--ttft-budget): predict a prompt's time to first
 * token from the prefill rate this runner has measured, and let the context
 * policy drop the oldest turns until the prediction fits. Only the tokens
 * not already in a KV cache are prefilled, so a conversation that continues
 * in its sequence keeps its history however long it is.
 */

/** The runner's measured prefill speed, tokens per second; undefined until something was measured. */
export interface PrefillRate {
  tokensPerSecond(): number | undefined;
  /** One prefill: how many tokens were evaluated, and how long it took. */
  record(tokens: number, ms: number): void;
}

/** Prefills shorter than this say more about fixed costs than about speed. */
const MIN_MEASURED_TOKENS = 16;
/** How much a new measurement moves the estimate. */
const WEIGHT = 0.3;

/** A moving average of measured prefill speeds (time to first token over tokens evaluated, so waits count too). */
export function measuredPrefillRate(): PrefillRate {
  let rate: number | undefined;
  return {
    tokensPerSecond: () => rate,
    record(tokens, ms) {
      if (tokens < MIN_MEASURED_TOKENS || ms <= 0) return;
      const measured = (tokens * 1000) / ms;
      rate = rate === undefined ? measured : rate * (1 - WEIGHT) + measured * WEIGHT;
    },
  };
}

/** A fixed prefill rate: for tests and for a device whose speed is known. */
export function fixedPrefillRate(tokensPerSecond: number): PrefillRate {
  return { tokensPerSecond: () => tokensPerSecond, record: () => {} };
}

export interface TtftDecision {
  budgetMs: number;
  /** The predicted time to first token of the prompt chosen. */
  predictedMs: number;
  /** The prefill rate the prediction used. */
  tokensPerSecond: number;
}

/** Predicted ms to prefill `tokens`, of which `reusable` are already in a KV cache. */
export function predictTtftMs(tokens: number, reusable: number, tokensPerSecond: number): number {
  return ((tokens - reusable) * 1000) / tokensPerSecond;
}
