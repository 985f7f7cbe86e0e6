import type { SamplingOptions } from './sampling.js';

/**
 * Picks the next token from a row of logits, for engines that hand logits
 * back (the native ExecuTorch engine) instead of sampling themselves. The
 * order is llama.cpp's: repetition, frequency and presence penalties over the
 * last `repeatLastN` tokens, then greedy at temperature 0, else top-k, top-p,
 * min-p, temperature and a draw. Plain arithmetic over a Float32Array, so it
 * runs wherever the core runs, and constrained decoding can mask the row first.
 */
export class LogitSampler {
  private random: () => number;

  /** `best` finds a row's largest logit: an engine may give a faster one than the core's loop. */
  constructor(
    private readonly options: SamplingOptions,
    private readonly best: (logits: Float32Array) => number = argmax,
  ) {
    this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** `logits` is modified in place (penalties); `history` is what the KV cache holds, newest last. */
  sample(logits: Float32Array, history: readonly number[]): number {
    applyPenalties(logits, history, this.options);
    if (this.options.temperature <= 0) return this.best(logits);
    const candidates = topCandidates(logits, this.options.topK);
    // Tokens a grammar forbids are -Infinity: never candidates, even when top-k reaches them.
    while (candidates.length > 1 && logits[candidates[candidates.length - 1]!] === -Infinity) candidates.pop();
    const probabilities = softmax(candidates.map((id) => logits[id]!), 1);
    let kept = keepTopP(probabilities, this.options.topP);
    const floor = probabilities[0]! * this.options.minP;
    while (kept > 1 && probabilities[kept - 1]! < floor) kept--;
    const weights = softmax(
      candidates.slice(0, kept).map((id) => logits[id]!),
      this.options.temperature,
    );
    let draw = this.random();
    for (let i = 0; i < kept; i++) {
      draw -= weights[i]!;
      if (draw <= 0) return candidates[i]!;
    }
    return candidates[kept - 1]!;
  }
}

function applyPenalties(logits: Float32Array, history: readonly number[], options: SamplingOptions): void {
  if (options.repeatLastN <= 0 || history.length === 0) return;
  const counts = new Map<number, number>();
  for (const token of history.slice(-options.repeatLastN)) counts.set(token, (counts.get(token) ?? 0) + 1);
  for (const [token, count] of counts) {
    if (token < 0 || token >= logits.length) continue;
    let value = logits[token]!;
    if (options.repeatPenalty !== 1) value = value > 0 ? value / options.repeatPenalty : value * options.repeatPenalty;
    logits[token] = value - count * options.frequencyPenalty - options.presencePenalty;
  }
}

export function argmax(logits: Float32Array): number {
  // The best value is kept in a local: this loop runs over the whole vocabulary every token.
  let best = 0;
  let top = logits[0]!;
  for (let i = 1; i < logits.length; i++) {
    const value = logits[i]!;
    if (value > top) {
      top = value;
      best = i;
    }
  }
  return best;
}

/** Token ids by descending logit: the best `topK` (all when 0). */
function topCandidates(logits: Float32Array, topK: number): number[] {
  const k = topK > 0 ? Math.min(topK, logits.length) : logits.length;
  if (k === logits.length) return Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  // A sorted window of k: most logits fail the threshold test and cost one comparison.
  const ids: number[] = [];
  let threshold = -Infinity; // the k-th best so far, once there are k
  for (let id = 0; id < logits.length; id++) {
    const value = logits[id]!;
    if (ids.length === k && value <= threshold) continue;
    let at = ids.length === k ? k - 1 : ids.length;
    while (at > 0 && logits[ids[at - 1]!]! < value) {
      ids[at] = ids[at - 1]!;
      at--;
    }
    ids[at] = id;
    if (ids.length === k) threshold = logits[ids[k - 1]!]!;
  }
  return ids;
}

function softmax(values: readonly number[], temperature: number): number[] {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  const exps = values.map((v) => Math.exp((v - max) / temperature));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** How many of the (descending) probabilities make up the nucleus: the fewest whose sum reaches topP. */
function keepTopP(probabilities: readonly number[], topP: number): number {
  if (topP >= 1) return probabilities.length;
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    sum += probabilities[i]!;
    if (sum >= topP) return i + 1;
  }
  return probabilities.length;
}

/** mulberry32: a small, fast PRNG; the same seed gives the same draws on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
