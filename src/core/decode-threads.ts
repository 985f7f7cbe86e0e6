/**
 * How many threads decode one token. A prompt's batch is wide and gains from every core; one
 * token's step is small, and on some machines (a VM whose idle vCPUs must be woken, a big.LITTLE
 * phone, a loaded head unit) waking a second thread for it costs more than the thread gives.
 * Which count is fastest is a fact of the machine, so it is measured, not guessed: the tuner tries
 * each candidate on real one-token steps, in alternating blocks, keeps the one with the lowest
 * mean step time (the mean, not the median: a second thread's steps can be bimodal, mostly fast with
 * a few very slow, and the rate an answer decodes at is set by the mean), and measures again after a
 * while in case the machine changed (heat, load). Fewer threads than the most must win clearly (by
 * `margin`): a trial is a few dozen steps on a machine whose steps vary by a tenth from one moment
 * to the next, and a decision is kept for a day. A decision can be remembered between processes
 * (DecodeThreadMemory), so a one-shot `onboard run` does not pay the trial's slower steps each time.
 */

/** Decisions kept between processes, by a key naming the machine, the engine, the model and the thread limit. */
export interface DecodeThreadMemory {
  recall(key: string): number | undefined;
  remember(key: string, threads: number): void;
}

export interface DecodeThreadTunerOptions {
  /** Steps per block: one candidate runs this many steps in a row (waking a thread is part of its cost). */
  blockSteps?: number;
  /** Blocks per candidate: they alternate, so drift during the trial falls on every candidate alike. */
  blocks?: number;
  /** One-token steps after a decision before measuring again. */
  retuneAfter?: number;
  /** How much lower (a share) a smaller count's mean step must be than the largest count's to be chosen. */
  margin?: number;
  /** A decision made earlier (remembered): used from the first step, measured again after `retuneAfter`. */
  initial?: number;
  /** Told each decision, to remember it. */
  onDecide?: (threads: number) => void;
}

/** Candidates from 1 to `max`: 1, 2, 4... and `max` itself. */
export function decodeThreadCandidates(max: number): number[] {
  const candidates: number[] = [];
  for (let n = 1; n < max; n *= 2) candidates.push(n);
  return [...candidates, Math.max(1, max)];
}

export class DecodeThreadTuner {
  private readonly blockSteps: number;
  private readonly blocks: number;
  private readonly retuneAfter: number;
  private readonly margin: number;
  private readonly samples = new Map<number, number[]>();
  private trialStep = 0;
  private stepsSinceDecision = 0;
  private decided: number | undefined;
  private readonly onDecide: ((threads: number) => void) | undefined;

  constructor(
    private readonly candidates: readonly number[],
    options: DecodeThreadTunerOptions = {},
  ) {
    if (candidates.length === 0) throw new Error('a decode thread tuner needs at least one candidate');
    this.blockSteps = options.blockSteps ?? 8;
    this.blocks = options.blocks ?? 2;
    this.retuneAfter = options.retuneAfter ?? 4096;
    this.margin = options.margin ?? 0.1;
    this.onDecide = options.onDecide;
    if (candidates.length === 1) this.decided = candidates[0];
    else if (options.initial !== undefined && candidates.includes(options.initial)) {
      this.decided = options.initial;
      this.trialStep = this.trialLength;
    }
  }

  /** The thread count chosen so far; undefined while the first trial runs. */
  get chosen(): number | undefined {
    return this.decided;
  }

  /** Threads for the next one-token step. */
  next(): number {
    if (this.candidates.length === 1) return this.candidates[0]!;
    if (this.trialStep >= this.trialLength) {
      if (this.stepsSinceDecision < this.retuneAfter) return this.decided!;
      this.trialStep = 0;
      this.samples.clear();
    }
    const block = Math.floor(this.trialStep / this.blockSteps);
    return this.candidates[block % this.candidates.length]!;
  }

  /** How long a one-token step took with `threads` threads. */
  record(threads: number, ms: number): void {
    if (this.candidates.length === 1) return;
    if (this.trialStep >= this.trialLength) {
      this.stepsSinceDecision++;
      return;
    }
    const samples = this.samples.get(threads);
    if (samples) samples.push(ms);
    else this.samples.set(threads, [ms]);
    if (++this.trialStep === this.trialLength) this.decide();
  }

  private get trialLength(): number {
    return this.candidates.length * this.blockSteps * this.blocks;
  }

  private decide(): void {
    const most = this.candidates.at(-1)!;
    const mostMs = mean(this.samples.get(most) ?? []);
    let best: { threads: number; ms: number } | undefined;
    for (const threads of this.candidates) {
      const ms = mean(this.samples.get(threads) ?? []);
      if (ms === undefined) continue;
      const clearlyFaster = threads === most || mostMs === undefined || ms < mostMs * (1 - this.margin);
      if (clearlyFaster && (!best || ms < best.ms)) best = { threads, ms };
    }
    this.decided = best?.threads ?? this.decided ?? most;
    this.stepsSinceDecision = 0;
    this.onDecide?.(this.decided);
  }
}

function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((sum, v) => sum + v, 0) / values.length;
}
