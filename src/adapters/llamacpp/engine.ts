import { cpus } from 'node:os';
import { LlamaGrammarEvaluationState, type LlamaContext, type LlamaContextSequence, type LlamaModel, type SequenceEvaluateOptions, type Token } from 'node-llama-cpp';
import { TARGET_CLASS } from '../../core/artifact-plan.js';
import { AUTO_ORDER as LLAMA_BACKENDS, planBackends } from '../../core/backend-policy.js';
import { DecodeThreadTuner, decodeThreadCandidates, type DecodeThreadMemory } from '../../core/decode-threads.js';
import { commonPrefixLength, type Engine, type EngineGeneration, type EngineSequence, type GenerationExtras, type LoadedModel, type LoadOptions, type ModelInfo, type ThreadUse, type TokenLogprob } from '../../core/engine.js';
import { BackendUnavailableError, CancelledError, InvalidOptionError } from '../../core/errors.js';
import { assertFitsInMemory, estimateMemory } from '../../core/memory-estimate.js';
import type { SamplingOptions } from '../../core/sampling.js';
import type { BackendAttempt, BackendChoice, BackendName, BackendRequest } from '../../core/types.js';
import { readGguf, type GgufSummary } from '../gguf/reader.js';
import { controlDecodeThreads } from './decode-threads.js';
import { LlamaGrammars } from './grammars.js';
import { ggufMemoryShape } from './memory-shape.js';
import { describeLoadFailure, detectBackends, llamaRuntime, noDeviceReason } from './runtime.js';

export interface LlamaCppEngineOptions {
  /** Memory the model may use, in bytes (the OS's available memory, or a configured budget). */
  availableMemoryBytes: () => number;
  /** Where measured decode thread counts are kept between processes; without it each load measures anew. */
  decodeThreadMemory?: DecodeThreadMemory;
}

/** The llama.cpp engine, through node-llama-cpp: GGUF models on CPU, Vulkan or CUDA. */
export class LlamaCppEngine implements Engine<GgufSummary> {
  readonly name = 'llama.cpp';

  constructor(private readonly options: LlamaCppEngineOptions) {}

  async load(options: LoadOptions<GgufSummary>): Promise<LoadedModel> {
    const started = performance.now();
    if (options.tokenizerPath !== undefined) throw new InvalidOptionError('--tokenizer', `${options.modelPath} is a GGUF, which carries its own tokenizer; --tokenizer is for .pte files`);
    const request = backendRequest(options.target);
    // Check the file while the native runtime loads: both take a few hundred ms.
    const runtimes = request === 'auto' ? detectBackends() : warmRuntime(request);
    const gguf = options.header ?? (await readGguf(options.modelPath));
    // Every sequence has a KV cache of the full context size.
    assertFitsInMemory(estimateMemory(ggufMemoryShape(gguf), options.contextSize, options.sequences ?? 1), this.options.availableMemoryBytes());

    const plan = planBackends(request, await runtimes);
    const attempts: BackendAttempt[] = [...plan.skipped];
    for (const backend of plan.candidates) {
      if (options.signal?.aborted) throw new CancelledError('Model loading');
      try {
        const loaded = await this.loadOn(backend, options, gguf);
        const on = loaded.devices.length ? ` on ${loaded.devices.join(', ')}` : '';
        const reason = (request === 'auto' ? autoReason(backend, attempts) : options.requestedBy ?? `requested with --backend ${backend}`) + on;
        attempts.push({ backend, outcome: 'used', reason });
        const choice: BackendChoice = { backend, accelerator: TARGET_CLASS[backend], devices: loaded.devices, reason, attempts };
        return new LlamaCppLoadedModel(loaded.model, loaded.context, toModelInfo(gguf), choice, performance.now() - started, loaded.threadUse);
      } catch (error) {
        attempts.push({ backend, outcome: 'failed', reason: describeLoadFailure(backend, error) });
      }
    }
    const last = attempts.at(-1);
    throw new BackendUnavailableError(
      request,
      last?.reason ?? 'no backend could load the model',
      attempts.map((a) => `${a.backend}: ${a.outcome} (${a.reason})`),
    );
  }

  /** On CPU, one-token steps take their own thread count: `decodeThreads`, or the measured best (remembered per machine, model and limit). */
  private decodeThreadsOf(context: LlamaContext, options: LoadOptions): () => ThreadUse {
    const batch = context.idealThreads;
    const candidates = options.decodeThreads !== undefined ? [Math.min(options.decodeThreads, batch)] : decodeThreadCandidates(batch);
    if (candidates.length === 1 && candidates[0] === batch) return () => ({ batch, decode: batch });
    const memory = this.options.decodeThreadMemory;
    const key = `llama.cpp|${cpus()[0]?.model ?? 'cpu'}|threads ${batch}|${options.modelPath}`;
    const remembered = options.decodeThreads === undefined ? memory?.recall(key) : undefined;
    const tuner = new DecodeThreadTuner(candidates, { ...(remembered !== undefined ? { initial: remembered } : {}), ...(memory ? { onDecide: (threads: number) => memory.remember(key, threads) } : {}) });
    if (!controlDecodeThreads(context, tuner)) return () => ({ batch, decode: batch });
    return () => ({ batch, decode: tuner.chosen });
  }

  private async loadOn(backend: BackendName, options: LoadOptions, gguf: GgufSummary) {
    const llama = await llamaRuntime(backend);
    const devices = backend === 'cpu' ? [] : await llama.getGpuDeviceNames();
    if (backend !== 'cpu' && devices.length === 0) throw new Error(noDeviceReason(backend));
    const model = await llama.loadModel({ modelPath: options.openPath ?? gguf.path, gpuLayers: backend === 'cpu' ? 0 : 'max' });
    try {
      const context = await model.createContext({
        contextSize: options.contextSize,
        sequences: options.sequences ?? 1,
        // node-llama-cpp defaults to every logical CPU; on a VM whose cores are
        // oversubscribed that spins ggml's barrier and runs ~100x slower.
        threads: options.threads ?? llama.cpuMathCores,
      });
      return { model, context, devices, threadUse: backend === 'cpu' ? this.decodeThreadsOf(context, options) : undefined };
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }
}

/** llama.cpp's targets are its backends; any other target is not one it has. */
function backendRequest(target: string): BackendRequest {
  if (target === 'auto' || (LLAMA_BACKENDS as readonly string[]).includes(target)) return target as BackendRequest;
  throw new BackendUnavailableError(target, `llama.cpp has no ${target} backend (it has ${LLAMA_BACKENDS.join(', ')})`);
}

/** Starts loading a backend's runtime; failures are reported when the model loads on it. */
async function warmRuntime(backend: BackendName): Promise<[]> {
  await llamaRuntime(backend).catch(() => undefined);
  return [];
}

function autoReason(backend: BackendName, attempts: readonly BackendAttempt[]): string {
  const passed = attempts.filter((a) => a.backend !== backend).map((a) => `${a.backend} ${a.outcome}: ${a.reason}`);
  return passed.length === 0 ? `auto: ${backend} is the best backend available` : `auto: chose ${backend} (${passed.join('; ')})`;
}

function toModelInfo(gguf: GgufSummary): ModelInfo {
  return {
    path: gguf.path,
    architecture: gguf.architecture,
    trainContextSize: gguf.contextLength,
    vocabularySize: gguf.vocabularySize,
    ...(gguf.chatTemplate ? { chatTemplate: gguf.chatTemplate } : {}),
    ...(gguf.specialTokens.bos?.text ? { bosToken: gguf.specialTokens.bos.text } : {}),
    ...(gguf.specialTokens.eos?.text ? { eosToken: gguf.specialTokens.eos.text } : {}),
    addBosToken: gguf.addBosToken,
    ...(gguf.specialTokens.bos ? { bosTokenId: gguf.specialTokens.bos.id } : {}),
  };
}

class LlamaCppLoadedModel implements LoadedModel {
  readonly engine = 'llama.cpp';
  readonly contextSize: number;
  private readonly grammars: LlamaGrammars;

  constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    readonly info: ModelInfo,
    readonly backend: BackendChoice,
    readonly loadMs: number,
    readonly threadUse?: () => ThreadUse,
  ) {
    this.contextSize = context.contextSize;
    this.grammars = new LlamaGrammars(model);
  }

  tokenize(text: string, options: { special: boolean }): number[] {
    return this.model.tokenize(text, options.special);
  }

  detokenize(tokens: readonly number[]): string {
    return this.model.detokenize(tokens as Token[]);
  }

  isEndOfGeneration(token: number): boolean {
    return this.model.isEogToken(token as Token);
  }

  createSequence(): EngineSequence {
    return new LlamaCppSequence(this.context.getSequence(), this.model, this.grammars);
  }

  async unload(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}

class LlamaCppSequence implements EngineSequence {
  constructor(
    private readonly sequence: LlamaContextSequence,
    private readonly model: LlamaModel,
    private readonly grammars: LlamaGrammars,
  ) {}

  get cachedTokens(): readonly number[] {
    return this.sequence.contextTokens;
  }

  async begin(prompt: readonly number[], sampling: SamplingOptions, extras: GenerationExtras = {}): Promise<EngineGeneration> {
    const { grammar, logprobs } = extras;
    const grammarState = grammar ? new LlamaGrammarEvaluationState({ model: this.model, grammar: await this.grammars.get(grammar.text) }) : undefined;
    let common = commonPrefixLength(this.sequence.contextTokens, prompt);
    // The last prompt token is always evaluated again: its logits give the first answer token.
    if (common === prompt.length) common--;
    if (common < this.sequence.nextTokenIndex) {
      await this.sequence.eraseContextTokenRanges([{ start: common, end: this.sequence.nextTokenIndex }]);
    }
    const penalize = sampling.repeatPenalty > 1 || sampling.frequencyPenalty !== 0 || sampling.presencePenalty !== 0;
    // Greedy needs no filters: they cannot change the likeliest token, and
    // top-p/min-p sort the whole vocabulary on every step.
    const filters = sampling.temperature === 0 ? {} : { topK: sampling.topK, topP: sampling.topP, minP: sampling.minP };
    const options: SequenceEvaluateOptions = {
      temperature: sampling.temperature,
      ...filters,
      ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
      ...(penalize
        ? {
            repeatPenalty: {
              punishTokens: () => this.sequence.contextTokens.slice(-sampling.repeatLastN),
              maxPunishTokens: sampling.repeatLastN,
              penalty: sampling.repeatPenalty,
              frequencyPenalty: sampling.frequencyPenalty,
              presencePenalty: sampling.presencePenalty,
            },
          }
        : {}),
      ...(grammarState ? { grammarEvaluationState: grammarState } : {}),
      yieldEogToken: true,
    };
    const input = prompt.slice(common) as Token[];
    if (logprobs === undefined) return { reusedTokens: common, tokens: this.sequence.evaluate(input, options)[Symbol.asyncIterator]() };
    return { reusedTokens: common, ...withLogprobs(this.sequence.evaluateWithMetadata(input, { probabilities: true }, options), logprobs) };
  }

  async clear(): Promise<void> {
    await this.sequence.clearHistory();
  }

  dispose(): void {
    this.sequence.dispose();
  }
}

/**
 * Tokens with their log probabilities, from llama.cpp's probabilities of each
 * step (node-llama-cpp hands back the whole distribution, sorted, best first:
 * the raw model's for greedy, the sampler's candidates' after its filters otherwise).
 */
function withLogprobs(evaluation: AsyncGenerator<{ token: Token; probabilities: Map<Token, number> }, void, void | Token | Token[]>, top: number): Pick<EngineGeneration, 'tokens' | 'logprob'> {
  let last: TokenLogprob | undefined;
  const tokens: AsyncIterator<number> = {
    async next() {
      const step = await evaluation.next();
      if (step.done) return { done: true, value: undefined };
      const { token, probabilities } = step.value;
      const alternatives: TokenLogprob['top'] = [];
      for (const [id, probability] of probabilities) {
        if (alternatives.length >= top) break;
        alternatives.push({ token: id, logprob: Math.log(probability) });
      }
      last = { logprob: Math.log(probabilities.get(token) ?? 0), top: alternatives };
      return { done: false, value: token };
    },
    async return() {
      await evaluation.return();
      return { done: true, value: undefined };
    },
  };
  return { tokens, logprob: () => last };
}
