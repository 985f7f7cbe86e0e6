import { StreamingDetokenizer } from './detokenizer.js';
import type { CancelSignal, Clock, EngineSequence, LoadedModel, MemoryProbe, ThreadUse } from './engine.js';
import type { ConstraintGrammar } from './output-constraint.js';
import type { SamplingOptions } from './sampling.js';
import { StopStringMatcher } from './stop-strings.js';
import type { GenerationChunk, LogprobEntry, StopReason } from './types.js';

export interface GenerationRequest {
  model: LoadedModel;
  sequence: EngineSequence;
  prompt: readonly number[];
  sampling: SamplingOptions;
  /** The grammar every token must keep the answer inside. */
  grammar?: ConstraintGrammar;
  /** Report log probabilities with this many alternatives per token. */
  logprobs?: number;
  maxTokens: number;
  stop: readonly string[];
  signal?: CancelSignal;
  memory: MemoryProbe;
  clock: Clock;
  droppedMessages?: number;
  /** When the caller received the request (clock.now()); defaults to now. */
  startedAt?: number;
  /** clock.now() after which the answer ends with stop reason 'time-limit'. */
  deadline?: number;
}

/**
 * The generation loop: prefill (reusing the KV cache's common prefix), then
 * decode token by token, applying stop rules and streaming UTF-8-safe text.
 * Ends with one `done` chunk that carries the full text and the stats.
 */
export async function* generate(request: GenerationRequest): AsyncGenerator<GenerationChunk> {
  const { model, sequence, prompt, signal, clock } = request;
  const startedAt = request.startedAt ?? clock.now();
  const detokenizer = new StreamingDetokenizer((tokens) => model.detokenize(tokens));
  const stopper = new StopStringMatcher(request.stop);
  const maxTokens = Math.min(request.maxTokens, model.contextSize - prompt.length);
  let text = '';
  let decodeTokens = 0;
  let firstTokenAt: number | undefined;
  let lastTokenAt = 0;
  let stopReason: StopReason = 'eos';

  const generation = await sequence.begin(prompt, request.sampling, {
    ...(request.grammar ? { grammar: request.grammar } : {}),
    ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
  });
  // Log probabilities of the tokens since the last text chunk, and of the whole answer.
  const wantLogprobs = request.logprobs !== undefined;
  let pending: LogprobEntry[] = [];
  const allLogprobs: LogprobEntry[] = [];
  const spell = (token: number) => model.detokenize([token]);
  const reusedTokens = generation.reusedTokens;
  try {
    for (;;) {
      if (signal?.aborted) {
        stopReason = 'abort';
        break;
      }
      if (request.deadline !== undefined && clock.now() > request.deadline) {
        stopReason = 'time-limit';
        break;
      }
      if (decodeTokens >= maxTokens) {
        stopReason = maxTokens < request.maxTokens ? 'context-full' : 'max-tokens';
        break;
      }
      const next = await generation.tokens.next();
      firstTokenAt ??= clock.now();
      if (next.done || model.isEndOfGeneration(next.value)) break;
      decodeTokens++;
      lastTokenAt = clock.now();
      if (wantLogprobs) {
        const found = generation.logprob?.();
        if (found) {
          const entry = { token: spell(next.value), logprob: found.logprob, top: found.top.map((t) => ({ token: spell(t.token), logprob: t.logprob })) };
          pending.push(entry);
          allLogprobs.push(entry);
        }
      }
      const piece = stopper.push(detokenizer.push(next.value));
      if (piece.text) {
        text += piece.text;
        yield wantLogprobs ? { type: 'text', text: piece.text, logprobs: pending } : { type: 'text', text: piece.text };
        pending = [];
      }
      if (piece.stopped) {
        stopReason = 'stop-string';
        break;
      }
    }
  } finally {
    await generation.tokens.return?.();
  }

  const rest = stopper.hasStopped ? '' : stopper.push(detokenizer.flush()).text + stopper.flush();
  if (rest) {
    text += rest;
    yield wantLogprobs ? { type: 'text', text: rest, logprobs: pending } : { type: 'text', text: rest };
  }

  const endedAt = clock.now();
  const ttft = (firstTokenAt ?? endedAt) - startedAt;
  const prefillTokens = prompt.length - reusedTokens;
  const decodeSeconds = firstTokenAt === undefined ? 0 : (lastTokenAt - firstTokenAt) / 1000;
  yield {
    type: 'done',
    text,
    stats: {
      engine: model.engine,
      backend: model.backend.backend,
      backendReason: model.backend.reason,
      ...(model.backend.artifact ? { artifact: model.backend.artifact.id, artifactReason: model.backend.artifact.reason } : {}),
      modelLoadMs: model.loadMs,
      timeToFirstTokenMs: ttft,
      promptTokens: prompt.length,
      reusedTokens,
      prefillTokens,
      prefillTokensPerSecond: ttft > 0 ? prefillTokens / (ttft / 1000) : 0,
      decodeTokens,
      // The first token comes out of the prefill, so decode speed counts the ones after it.
      decodeTokensPerSecond: decodeTokens > 1 && decodeSeconds > 0 ? (decodeTokens - 1) / decodeSeconds : 0,
      ...threadsOf(model),
      totalMs: endedAt - startedAt,
      peakRssBytes: request.memory.peakRssBytes(),
      stopReason,
      droppedMessages: request.droppedMessages ?? 0,
    },
    ...(wantLogprobs ? { logprobs: allLogprobs } : {}),
  };
}

/** The engine's thread counts, for the stats, when it chooses them. */
function threadsOf(model: LoadedModel): { threads?: ThreadUse } {
  const threads = model.threadUse?.();
  return threads ? { threads } : {};
}
