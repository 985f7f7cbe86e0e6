import { chatTemplateFor, type ChatTemplate } from './chat-template.js';
import { fitMessages, MIN_ANSWER_TOKENS, tokenizeConversation, tokenizePrompt } from './context-window.js';
import { commonPrefixLength, type CancelSignal, type Clock, type EngineSequence, type LoadedModel, type MemoryProbe } from './engine.js';
import { CancelledError, ConstraintUnsupportedError, InvalidOptionError, PromptTooLongError, QueueFullError, ThermalCriticalError } from './errors.js';
import type { ThermalGuard } from './thermal.js';
import { generate } from './generate.js';
import { checkConstraint, type ConstraintGrammar, type GrammarCompiler, type OutputConstraint } from './output-constraint.js';
import { parseToolCalls, TOOL_CALL_CLOSE, withToolsInText, type ToolChoice, type ToolDefinition } from './tools.js';
import { DEFAULT_MAX_TOKENS, resolveSampling, type SamplingInput } from './sampling.js';
import type { ChatMessage, GenerationChunk } from './types.js';
import { measuredPrefillRate, predictTtftMs, type PrefillRate, type TtftDecision } from './ttft-budget.js';

export interface GenerateOptions {
  sampling?: SamplingInput;
  maxTokens?: number;
  stop?: readonly string[];
  signal?: CancelSignal;
  /** Ends the answer (stop reason 'time-limit') once this much time has passed since the request. */
  timeLimitMs?: number;
  /** Holds the answer, token by token, to a JSON schema, any JSON object, or a grammar. */
  constraint?: OutputConstraint;
  /** Functions the model may call; its calls come back in the done chunk's `toolCalls`. */
  tools?: readonly ToolDefinition[];
  /** Default `auto` when tools are given. */
  toolChoice?: ToolChoice;
  /** Several calls in one answer (default true). */
  parallelToolCalls?: boolean;
  /** Report each answer token's log probability and this many likeliest alternatives (0 to 20). */
  logprobs?: number;
}

export interface ModelRunnerOptions {
  memory: MemoryProbe;
  clock: Clock;
  /** Requests allowed to wait for a free sequence; one more is refused with QueueFullError. */
  maxQueue?: number;
  onWarning?: (message: string) => void;
  /** Turns constraints into grammars; without one, a constrained request is refused. */
  grammars?: GrammarCompiler;
  /** Sees each finished answer's prompt and text: only for an explicit prompt log (`serve --log-prompts`), never by default. */
  onAnswer?: (record: { prompt: string; answer: string }) => void;
  /** The response-time budget: drop the oldest turns while the predicted time to first token exceeds it (ttft-budget.ts). */
  ttftBudgetMs?: number;
  /** Where the prefill speed for that prediction comes from (default: measured on this runner's own answers). */
  prefillRate?: PrefillRate;
  /** The device's thermal state: throttle above a passive trip point, refuse new answers at a critical one. */
  thermal?: ThermalGuard;
}


interface Waiter {
  resolve: (sequence: EngineSequence) => void;
  reject: (error: Error) => void;
  prompt: readonly number[];
}

/**
 * Serves generations on one loaded model: a pool of KV-cache sequences and a
 * bounded queue in front of it. A request takes the free sequence whose
 * cached tokens share the longest prefix with its prompt, so a conversation
 * that continues prefills only what is new, whoever sends it.
 */
export class ModelRunner {
  readonly template: ChatTemplate;
  private readonly free: EngineSequence[] = [];
  private readonly all: EngineSequence[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly maxQueue: number;
  private readonly prefillRate: PrefillRate;
  /** True while warmUp runs: its answer is nobody's, so it is not passed to onAnswer. */
  private warming = false;

  constructor(
    readonly model: LoadedModel,
    sequences: number,
    private readonly options: ModelRunnerOptions,
  ) {
    this.template = chatTemplateFor(model.info, options.onWarning, (text) => isSpecialToken(model, text));
    for (let i = 0; i < sequences; i++) this.all.push(model.createSequence());
    this.free.push(...this.all);
    this.maxQueue = options.maxQueue ?? 16;
    this.prefillRate = options.prefillRate ?? measuredPrefillRate();
    this.compileFirstUse();
  }

  /**
   * The first render of the chat template, the first tokenization and the first check of sampling
   * options compile (the template's evaluator, the tokenizer's paths, zod's parser): time that
   * would otherwise fall in the first answer's time to first token. They run here, while the model
   * is being set up. (Rendering alone left about 1 ms of the tokenizer's first use in the first
   * answer: docs/benchmarks.md.)
   */
  private compileFirstUse(): void {
    resolveSampling({});
    try {
      tokenizeConversation(this.model, this.template, [{ role: 'user', content: 'Hello' }]);
    } catch {
      // a template that cannot render this fails the first request with its own error
    }
  }

  /**
   * Warm start: a one-token answer to a conversation opening with `system`
   * (none: the template's own default), which leaves what every such
   * conversation shares, up to where the first user message begins, in a
   * sequence. The first request then finds it cached, as a later one would,
   * and the prefill rate is measured before it comes. Returns how many tokens
   * that shared opening has.
   */
  async warmUp(system?: string): Promise<number> {
    const opening: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    const [a, b] = ['a', 'b'].map((text) => tokenizeConversation(this.model, this.template, [...opening, { role: 'user', content: text }]));
    const shared = commonPrefixLength(a!, b!);
    if (shared === 0) return 0;
    // A one-token answer through the whole chat path: the template, the tokenizer, the sampler and
    // the engine all run once (their first run is the slow one), and the opening stays cached.
    this.warming = true;
    try {
      for await (const chunk of this.chat([...opening, { role: 'user', content: 'a' }], { maxTokens: 1, sampling: { temperature: 0 } })) void chunk;
    } finally {
      this.warming = false;
    }
    return shared;
  }

  /** At a critical trip point no new answer starts (answers under way finish). */
  private refuseWhenCritical(): void {
    const reading = this.options.thermal?.reading();
    if (reading?.state === 'critical') throw new ThermalCriticalError(reading.zone!.type, reading.zone!.tempC, reading.zone!.tripC!);
  }

  /** The budget's check for one candidate prompt, remembering the prediction for the stats. */
  private ttftCheck(): { fastEnough: (tokens: readonly number[]) => boolean; decision: () => TtftDecision | undefined } | undefined {
    const budgetMs = this.options.ttftBudgetMs;
    const tokensPerSecond = this.prefillRate.tokensPerSecond();
    if (budgetMs === undefined || tokensPerSecond === undefined) return undefined;
    let last: TtftDecision | undefined;
    return {
      fastEnough: (tokens) => {
        const pool = this.free.length ? this.free : this.all;
        const reusable = Math.max(0, ...pool.map((sequence) => commonPrefixLength(sequence.cachedTokens, tokens)));
        last = { budgetMs, predictedMs: Math.round(predictTtftMs(tokens.length, reusable, tokensPerSecond)), tokensPerSecond: Math.round(tokensPerSecond) };
        return last.predictedMs <= budgetMs;
      },
      decision: () => last,
    };
  }

  /** Requests waiting for a sequence. */
  get queueDepth(): number {
    return this.waiting.length;
  }

  /** Requests generating now. */
  get active(): number {
    return this.all.length - this.free.length;
  }

  /**
   * Answers the last message of a conversation (rendered with the chat template).
   * Consume the stream with for-await, or call `return()` on it when you stop
   * early: that is what frees its sequence for the next request.
   */
  chat(messages: readonly ChatMessage[], options: GenerateOptions = {}): AsyncGenerator<GenerationChunk> {
    const startedAt = this.options.clock.now();
    this.refuseWhenCritical();
    const tooling = toolConstraint(options);
    const constraint = tooling ?? options.constraint;
    if (constraint) checkConstraint(constraint);
    // Tools, earlier calls and tool results: the model's template writes them when it knows
    // the <tool_call> format; otherwise the core writes them into the messages (tools.ts).
    const usesTools = Boolean(options.tools?.length) || messages.some((m) => m.role === 'tool' || m.toolCalls?.length);
    const native = usesTools && this.template.toolFormat === 'native';
    const rendered = usesTools && !native ? withToolsInText(messages, tooling ? options.tools! : []) : messages;
    const template = native ? this.template.withTools(tooling ? options.tools! : []) : this.template;
    const lastRole = rendered[rendered.length - 1]?.role;
    if (lastRole !== 'user' && !(native && lastRole === 'tool')) {
      throw new InvalidOptionError('messages', 'the last message must be from the user (or a tool result)');
    }
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    const ttft = this.ttftCheck();
    const fitted = fitMessages(this.model, template, rendered, maxTokens, ttft?.fastEnough);
    const decision = ttft?.decision();
    // A fallback template's turn markers end the answer: a model that starts another turn never shows it.
    const stop = template.stopStrings.length ? [...(options.stop ?? []), ...template.stopStrings] : options.stop;
    const stream = this.run(fitted.tokens, fitted.droppedMessages, maxTokens, { ...options, ...(stop ? { stop } : {}), ...(constraint ? { constraint } : {}) }, startedAt, decision);
    return tooling ? withToolCalls(stream) : stream;
  }

  /** Continues raw text, with no chat template. */
  complete(prompt: string, options: GenerateOptions = {}): AsyncGenerator<GenerationChunk> {
    const startedAt = this.options.clock.now();
    this.refuseWhenCritical();
    if (options.tools?.length) throw new InvalidOptionError('tools', 'tools need a chat: use chat(), not complete()');
    if (options.constraint) checkConstraint(options.constraint);
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    const tokens = tokenizePrompt(this.model, prompt);
    const reserved = Math.min(maxTokens, MIN_ANSWER_TOKENS);
    if (tokens.length + reserved > this.model.contextSize) throw new PromptTooLongError(tokens.length, this.model.contextSize, reserved);
    return this.run(tokens, 0, maxTokens, options, startedAt);
  }

  private async *run(prompt: number[], droppedMessages: number, maxTokens: number, options: GenerateOptions, startedAt: number, ttftBudget?: TtftDecision): AsyncGenerator<GenerationChunk> {
    const grammar = options.constraint ? await this.grammarFor(options.constraint) : undefined;
    const sequence = await this.acquire(prompt, options.signal);
    try {
      const chunks = generate({
        model: this.model,
        sequence,
        prompt,
        sampling: resolveSampling(options.sampling),
        ...(grammar ? { grammar } : {}),
        ...(options.logprobs !== undefined ? { logprobs: checkLogprobs(options.logprobs) } : {}),
        maxTokens,
        stop: options.stop ?? [],
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeLimitMs ? { deadline: startedAt + options.timeLimitMs } : {}),
        memory: this.options.memory,
        clock: this.options.clock,
        droppedMessages,
        startedAt,
      });
      const thermal = this.options.thermal;
      let throttledTokens = 0;
      let tokenStarted = this.options.clock.now();
      for await (const chunk of chunks) {
        if (chunk.type !== 'done') {
          yield chunk;
          // Throttled: rest after each token as long as it took, so the cores work half the time.
          if (thermal?.reading().state === 'throttled') {
            throttledTokens++;
            await thermal.pause(this.options.clock.now() - tokenStarted);
          }
          tokenStarted = this.options.clock.now();
          continue;
        }
        this.prefillRate.record(chunk.stats.prefillTokens, chunk.stats.timeToFirstTokenMs);
        if (!this.warming) this.options.onAnswer?.({ prompt: this.model.detokenize(prompt), answer: chunk.text });
        const reading = thermal?.reading();
        const extra = {
          ...(ttftBudget ? { ttftBudget } : {}),
          ...(reading ? { thermal: { state: reading.state, ...(reading.zone ? { zone: reading.zone.type, tempC: reading.zone.tempC } : {}), throttledTokens } } : {}),
        };
        yield Object.keys(extra).length ? { ...chunk, stats: { ...chunk.stats, ...extra } } : chunk;
      }
    } finally {
      this.release(sequence);
    }
  }

  private grammarFor(constraint: OutputConstraint): Promise<ConstraintGrammar> {
    if (!this.options.grammars) return Promise.reject(new ConstraintUnsupportedError(this.model.engine, 'no grammar compiler was given to the runner'));
    return this.options.grammars.compile(constraint);
  }

  private acquire(prompt: readonly number[], signal?: CancelSignal): Promise<EngineSequence> {
    if (signal?.aborted) return Promise.reject(new CancelledError('The request'));
    if (this.free.length > 0) return Promise.resolve(this.takeBest(prompt));
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new QueueFullError(this.waiting.length, this.maxQueue));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, prompt };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', () => {
        const index = this.waiting.indexOf(waiter);
        if (index !== -1) {
          this.waiting.splice(index, 1);
          reject(new CancelledError('The request'));
        }
      });
    });
  }

  private release(sequence: EngineSequence): void {
    this.free.push(sequence);
    const next = this.waiting.shift();
    if (next) next.resolve(this.takeBest(next.prompt));
  }

  /** The free sequence whose KV cache shares the longest prefix with the prompt. */
  private takeBest(prompt: readonly number[]): EngineSequence {
    let best = 0;
    let bestShared = -1;
    this.free.forEach((sequence, index) => {
      const shared = commonPrefixLength(sequence.cachedTokens, prompt);
      if (shared > bestShared) {
        best = index;
        bestShared = shared;
      }
    });
    return this.free.splice(best, 1)[0]!;
  }

  /** Empties every free sequence's KV cache (for measurements and memory pressure). */
  async clearCaches(): Promise<void> {
    await Promise.all(this.free.map((sequence) => sequence.clear()));
  }

  /** Cancels waiting requests, frees the sequences and unloads the model (the runner owns it). */
  async close(): Promise<void> {
    for (const waiter of this.waiting.splice(0)) waiter.reject(new CancelledError('The request'));
    for (const sequence of this.all) sequence.dispose();
    await this.model.unload();
  }
}

/** Whether `text` is one special token of the model's vocabulary (a turn marker it was trained on), not text that merely spells it. */
function isSpecialToken(model: LoadedModel, text: string): boolean {
  return model.tokenize(text, { special: true }).length === 1 && model.tokenize(text, { special: false }).length > 1;
}

/** The constraint for a request's tools: calls in the tool-call format (or text, when the model may choose). */
function toolConstraint(options: GenerateOptions): OutputConstraint | undefined {
  const choice = options.toolChoice ?? 'auto';
  if (!options.tools?.length || choice === 'none') return undefined;
  if (options.constraint) throw new InvalidOptionError('tools', 'tools and a response format cannot be combined yet');
  return { kind: 'tool-calls', tools: options.tools, choice, parallel: options.parallelToolCalls ?? true };
}

let callCounter = 0;
/** An id for a call, unique within the process and unlikely to repeat across processes. */
function newCallId(): string {
  callCounter = (callCounter + 1) % 1e6;
  return `call_${Math.floor(Math.random() * 36 ** 8).toString(36)}${callCounter.toString(36)}`;
}

/**
 * Adds the calls an answer holds to its done chunk. An answer cut short (by
 * max tokens, say, while the model kept adding parallel calls) keeps the calls
 * it completed; the unfinished one is dropped.
 */
async function* withToolCalls(stream: AsyncGenerator<GenerationChunk>): AsyncGenerator<GenerationChunk> {
  try {
    for await (const chunk of stream) {
      if (chunk.type !== 'done' || chunk.stats.stopReason === 'abort') yield chunk;
      else {
        const lastClose = chunk.text.lastIndexOf(TOOL_CALL_CLOSE);
        const complete = chunk.stats.stopReason === 'eos' ? chunk.text : lastClose === -1 ? '' : chunk.text.slice(0, lastClose + TOOL_CALL_CLOSE.length);
        const toolCalls = parseToolCalls(complete, newCallId);
        yield toolCalls.length ? { ...chunk, toolCalls } : chunk;
      }
    }
  } finally {
    await stream.return(undefined);
  }
}

/** At most 20 alternatives, as OpenAI allows. */
function checkLogprobs(top: number): number {
  if (!Number.isInteger(top) || top < 0 || top > 20) throw new InvalidOptionError('logprobs', `expected a whole number of alternatives from 0 to 20, got ${top}`);
  return top;
}
