import { commonPrefixLength, type Engine, type EngineGeneration, type EngineSequence, type GenerationExtras, type LoadedModel, type LoadOptions, type ModelInfo, type ThreadUse, type TokenLogprob } from '../../core/engine.js';
import { BackendUnavailableError, ConstraintUnsupportedError, EngineFailedError, GrammarInvalidError, InvalidOptionError, ModelCorruptError, ModelNotAnLlmError, RuntimeMissingError, ToolchainMissingError } from '../../core/errors.js';
import type { SamplingOptions } from '../../core/sampling.js';
import type { BackendChoice } from '../../core/types.js';
import { TARGET_CLASS } from '../../core/artifact-plan.js';
import { pteTarget } from './targets.js';
import { readPte, type PteSummary } from '../pte/reader.js';
import { HostExitedError, HostProcess, HostRequestError, nativeHostCommand, pythonHostCommand, type HostCommand } from './host-process.js';
import { HOST_PROTOCOL_VERSION } from './host-protocol.js';
import { nativeRuntimeState } from './native-runtime.js';
import { loadTokenizer } from './tokenizers/load-tokenizer.js';
import { alternation, type TextTokenizer } from './tokenizers/text-tokenizer.js';
import { toolchainState } from './toolchain.js';

/** Which ExecuTorch runtime hosts a program: onboard's native addon, the Python toolchain, or the first that is installed. */
export type ExecuTorchRuntime = 'auto' | 'native' | 'python';

export interface ExecuTorchEngineOptions {
  /** Called after the host died and was started again. */
  onRestart?: (reason: string) => void;
  /** Default: $ONBOARD_EXECUTORCH_RUNTIME, else auto (native when installed). */
  runtime?: ExecuTorchRuntime;
}

/** The host to run: native when its runtime is installed (or asked for), the Python one when only the toolchain is. */
export async function chooseHost(requested: ExecuTorchRuntime): Promise<{ host: HostCommand; why: string }> {
  if (requested !== 'python') {
    const native = await nativeRuntimeState();
    if (native.state === 'ready') return { host: nativeHostCommand(native), why: 'onboard\'s native runtime (no Python)' };
    if (requested === 'native') throw new RuntimeMissingError(native.reason);
    const python = await toolchainState();
    if (python.state === 'ready') return { host: pythonHostCommand(python), why: `the Python host, because the native runtime is not installed (${native.reason})` };
    throw new RuntimeMissingError(`${native.reason}; the Python toolchain is not set up either (${python.reason})`);
  }
  const python = await toolchainState();
  if (python.state !== 'ready') throw new ToolchainMissingError(python.reason);
  return { host: pythonHostCommand(python), why: 'the Python host, as asked' };
}

function runtimeFromEnv(env: NodeJS.ProcessEnv = process.env): ExecuTorchRuntime {
  const value = env.ONBOARD_EXECUTORCH_RUNTIME || 'auto';
  if (value !== 'auto' && value !== 'native' && value !== 'python') throw new InvalidOptionError('ONBOARD_EXECUTORCH_RUNTIME', `"${value}" is not one of auto, native, python`);
  return value;
}

/**
 * ExecuTorch behind the core's engine port. The runtime runs in a supervised
 * host process: the native one (native-host.ts: Node with onboard's addon
 * over ExecuTorch's C++ runtime) or the Python one
 * (python/onboard_executorch/host.py). Tokenization runs here, with the
 * program's tokenizer (tokenizers/), so the port's tokenize and detokenize stay synchronous.
 */
export class ExecuTorchEngine implements Engine<PteSummary> {
  readonly name = 'executorch';

  constructor(private readonly options: ExecuTorchEngineOptions = {}) {}

  async load(options: LoadOptions<PteSummary>): Promise<LoadedModel> {
    const pte = options.header ?? (await readPte(options.modelPath));
    assertLanguageModel(options.modelPath, pte);
    const tokenizer = await loadTokenizer(options.modelPath, options.tokenizerPath);
    assertTokenizerFits(pte, tokenizer, options.tokenizerPath !== undefined);
    const requested = this.options.runtime ?? runtimeFromEnv();
    const { host, why } = await chooseHost(requested);
    const started = performance.now();
    let model = new ExecuTorchModel(options, pte, tokenizer, host, why, this.options);
    try {
      await model.start();
    } catch (error) {
      // A program calling a kernel only the Python side has: auto runs it there, and says so.
      if (requested !== 'auto' || host.kind !== 'native' || !/OperatorMissing/.test((error as Error).message)) throw error;
      const python = await toolchainState();
      if (python.state !== 'ready') throw error;
      const missing = /missing: ([\w:., ]+)/.exec((error as Error).message)?.[1] ?? 'a kernel it calls';
      model = new ExecuTorchModel(options, pte, tokenizer, pythonHostCommand(python), `the Python host, because the native runtime lacks ${missing}`, this.options);
      await model.start();
    }
    model.loadMs = Math.round(performance.now() - started);
    return model;
  }
}

/**
 * A program onboard can chat with: a `forward` that takes int64 token ids [1, n] and an int64
 * start position [1], as ExecuTorch's LLM exporter writes it. Checked from the file, before a
 * host starts, so a classifier or an encoder gets a clear error instead of a failed forward.
 */
function assertLanguageModel(path: string, pte: PteSummary): void {
  const forward = pte.methods.find((method) => method.name === 'forward');
  if (!forward) throw new ModelNotAnLlmError(path, `it has no forward method (methods: ${pte.methods.map((m) => m.name).join(', ') || 'none'})`);
  const takes = forward.inputs.map((input) => (input.kind === 'tensor' ? `${input.dtype}[${input.shape.join(', ')}]` : input.kind));
  const tokenLike = forward.inputs.length === 2 && forward.inputs.every((input) => input.kind === 'tensor' && input.dtype === 'int64');
  if (!tokenLike) throw new ModelNotAnLlmError(path, `its forward takes ${takes.join(', ') || 'nothing'}, not int64 token ids and an int64 start position`);
}

/** A tokenizer with more ids than the model has embedding rows belongs to another model. */
function assertTokenizerFits(pte: PteSummary, tokenizer: TextTokenizer, given: boolean): void {
  const rows = pte.llm.vocabSize;
  if (rows === undefined || tokenizer.size <= rows) return;
  const why = `it has ${tokenizer.size} tokens and the model only ${rows}: it is another model's tokenizer`;
  throw given ? new InvalidOptionError('--tokenizer', `${tokenizer.path}: ${why}`) : new ModelCorruptError(tokenizer.path, why);
}

class ExecuTorchModel implements LoadedModel {
  readonly engine = 'executorch';
  readonly info: ModelInfo;
  readonly backend: BackendChoice;
  readonly contextSize: number;
  loadMs = 0;
  private host: HostProcess | undefined;
  private restarting: Promise<void> | undefined;
  private closed = false;
  private readonly loadedHosts = new WeakSet<HostProcess>();
  private readonly sequences: ExecuTorchSequence[] = [];
  private readonly eosIds: Set<number>;
  /** The native host's thread counts: a prompt's and a one-token step's (the Python host does not say). */
  private threads: ThreadUse | undefined;

  constructor(
    private readonly options: LoadOptions,
    private readonly pte: PteSummary,
    private readonly tok: TextTokenizer,
    private readonly hostCommand: HostCommand,
    hostWhy: string,
    private readonly hooks: ExecuTorchEngineOptions,
  ) {
    const maxSeqLen = pte.llm.maxSeqLen ?? 128;
    this.contextSize = Math.min(options.contextSize, maxSeqLen);
    this.eosIds = new Set(pte.llm.eosIds ?? []);
    const bos = pte.llm.bosId;
    this.info = {
      path: options.modelPath,
      architecture: 'executorch-llama',
      trainContextSize: maxSeqLen,
      vocabularySize: pte.llm.vocabSize ?? 0,
      ...(tok.chatTemplate ? { chatTemplate: tok.chatTemplate } : {}),
      ...(bos !== undefined ? { bosToken: tok.tokenText(bos), bosTokenId: bos } : {}),
      ...(pte.llm.eosIds?.[0] !== undefined ? { eosToken: tok.tokenText(pte.llm.eosIds[0]) } : {}),
      addBosToken: false,
    };
    const delegates = pte.backends.join(', ') || 'portable kernels';
    const target = pteTarget(pte).backend;
    const reason = `the .pte delegates to ${delegates}, which this runtime has; run by ${hostWhy}`;
    this.backend = { backend: target, accelerator: TARGET_CLASS[target], devices: [delegates], reason, attempts: [{ backend: target, outcome: 'used', reason: 'the program runs on the delegates it holds' }] };
  }

  async start(): Promise<void> {
    // The restart begins before the requests in flight are rejected, so a retry waits for it.
    const host = new HostProcess(this.hostCommand, (reason) => this.onHostExit(host, reason));
    this.host = host;
    let greeted = false;
    try {
      const hello = await host.request<{ protocol: number; backends: string[] }>('hello');
      greeted = true;
      if (hello.protocol !== HOST_PROTOCOL_VERSION) throw new Error(`the host speaks protocol ${hello.protocol}, this adapter ${HOST_PROTOCOL_VERSION}`);
      // The runtime says which delegates it has; the program (read from the file) says which it needs.
      const missing = this.pte.backends.filter((b) => !hello.backends.includes(b));
      if (missing.length > 0) throw new BackendUnavailableError(missing.join(', '), `this ExecuTorch runtime has no ${missing.join(', ')} (it has ${hello.backends.join(', ') || 'no delegates'})`);
      const loaded = await host.request<{ threads?: number; decode_threads?: number }>('load', {
        pte: this.options.openPath ?? this.options.modelPath,
        sequences: this.options.sequences ?? 1,
        max_seq_len: this.info.trainContextSize,
        // For grammars: the vocabulary they are compiled against, and the tokens that end an answer.
        tokenizer: this.tok.path,
        stop_ids: [...this.eosIds],
        vocab_size: this.info.vocabularySize,
        ...(this.options.decodeThreads ? { decode_threads: this.options.decodeThreads } : {}),
      });
      this.threads = loaded.threads !== undefined ? { batch: loaded.threads, decode: loaded.decode_threads } : undefined;
      this.loadedHosts.add(host);
    } catch (error) {
      await host.stop();
      if (error instanceof BackendUnavailableError) throw error;
      // A host that dies before it can say hello is a broken environment, not a broken model.
      if (!greeted && error instanceof HostExitedError) {
        const detail = `${this.hostCommand.command} cannot run the ExecuTorch host: ${error.message}`;
        throw this.hostCommand.kind === 'native' ? new RuntimeMissingError(detail) : new ToolchainMissingError(detail);
      }
      throw new EngineFailedError('executorch', `could not load ${this.options.modelPath}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Supervision: an unexpected exit drops every KV cache and starts a fresh host with the model loaded. */
  private onHostExit(host: HostProcess, reason: string): void {
    // Only a host that had loaded the model is restarted: a failing load must not loop.
    if (this.closed || host !== this.host || !this.loadedHosts.has(host)) return;
    for (const sequence of this.sequences) sequence.reset();
    this.restarting = this.start()
      .then(() => this.hooks.onRestart?.(reason))
      .finally(() => {
        this.restarting = undefined;
      });
    this.restarting.catch(() => {});
  }

  threadUse(): ThreadUse | undefined {
    return this.threads && { ...this.threads };
  }

  /** The live host, waiting for a restart in progress. */
  async ready(): Promise<HostProcess> {
    if (this.restarting) await this.restarting;
    if (!this.host?.isAlive) throw new EngineFailedError('executorch', 'the ExecuTorch host is not running');
    return this.host;
  }

  /** Whether the native host runs the program: it masks logits with xgrammar and reports log probabilities; the Python one does neither. */
  get native(): boolean {
    return this.hostCommand.kind === 'native';
  }

  get tokenizerFormat(): TextTokenizer['format'] {
    return this.tok.format;
  }

  get hostPid(): number | undefined {
    return this.host?.pid;
  }

  tokenize(text: string, options: { special: boolean }): number[] {
    if (options.special) return this.tok.encode(text);
    return this.encodePlain(text);
  }

  /**
   * Control tokens spelled out in user text stay text: each occurrence is
   * encoded in two pieces, so the tokenizer cannot match it as one token.
   */
  private encodePlain(text: string): number[] {
    const specials = this.tok.specialTokens.filter((s) => s.length > 1 && text.includes(s));
    if (specials.length === 0) return this.tok.encode(text);
    const pattern = alternation(specials);
    const ids: number[] = [];
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      const at = match.index;
      if (at > last) ids.push(...this.tok.encode(text.slice(last, at)));
      ids.push(...this.tok.encode(match[0].slice(0, 1)));
      ids.push(...this.tok.encode(match[0].slice(1)));
      last = at + match[0].length;
    }
    if (last < text.length) ids.push(...this.tok.encode(text.slice(last)));
    return ids;
  }

  detokenize(tokens: readonly number[]): string {
    return this.tok.decode(tokens);
  }

  isEndOfGeneration(token: number): boolean {
    return this.eosIds.has(token);
  }

  /** Each sequence is one loaded forward method in the host; a disposed sequence gives its slot back. */
  createSequence(): EngineSequence {
    const slots = this.options.sequences ?? 1;
    const index = Array.from({ length: slots }, (_, i) => i).find((i) => !this.sequences.some((s) => s.index === i));
    if (index === undefined) throw new EngineFailedError('executorch', `only ${slots} sequence(s) were loaded`);
    const sequence = new ExecuTorchSequence(this, index, () => {
      const at = this.sequences.indexOf(sequence);
      if (at >= 0) this.sequences.splice(at, 1);
    });
    this.sequences.push(sequence);
    return sequence;
  }

  async unload(): Promise<void> {
    this.closed = true;
    await this.host?.stop();
  }
}

class ExecuTorchSequence implements EngineSequence {
  private tokens: number[] = [];

  constructor(
    private readonly model: ExecuTorchModel,
    readonly index: number,
    private readonly release: () => void,
  ) {}

  get cachedTokens(): readonly number[] {
    return this.tokens;
  }

  reset(): void {
    this.tokens = [];
  }

  async begin(prompt: readonly number[], sampling: SamplingOptions, extras: GenerationExtras = {}): Promise<EngineGeneration> {
    const { grammar, logprobs } = extras;
    if (prompt.length === 0) throw new EngineFailedError('executorch', 'an empty prompt');
    if (grammar && !this.model.native) throw new ConstraintUnsupportedError('executorch', 'the model runs on the Python host, which has no grammar engine; the native runtime has one (`onboard setup runtime`)');
    // The grammar engine reads its vocabulary from a tokenizer.json.
    if (grammar && this.model.tokenizerFormat !== 'huggingface') throw new ConstraintUnsupportedError('executorch', `the model's tokenizer is a ${this.model.tokenizerFormat} file; constrained output needs a Hugging Face tokenizer.json`, 'Give the model\'s tokenizer.json with --tokenizer, or ask without a constraint.');
    if (logprobs !== undefined && !this.model.native) throw new InvalidOptionError('logprobs', 'the model runs on the Python ExecuTorch host, which does not report log probabilities; the native runtime does (`onboard setup runtime`)');
    // At least one prompt token is evaluated, so there are logits to sample from.
    const reused = Math.min(commonPrefixLength(this.tokens, prompt), prompt.length - 1);
    this.tokens = this.tokens.slice(0, reused);
    let first = true;
    let pending: number | undefined;
    let last: TokenLogprob | undefined;
    const next = async (): Promise<IteratorResult<number>> => {
      try {
        const host = await this.model.ready();
        let reply: { token: number; logprob?: { logprob: number; top: Array<[number, number]> } };
        if (first) {
          first = false;
          reply = await host.request('prefill', { seq: this.index, start_pos: reused, tokens: prompt.slice(reused), sampling, ...(grammar ? { grammar: grammar.text } : {}), ...(logprobs !== undefined ? { logprobs } : {}) });
          this.tokens = [...prompt];
        } else {
          reply = await host.request('step', { seq: this.index });
          // The previous token is in the KV cache now; the one just sampled is not yet.
          if (pending !== undefined) this.tokens.push(pending);
        }
        pending = reply.token;
        if (reply.logprob) last = { logprob: reply.logprob.logprob, top: reply.logprob.top.map(([token, logprob]) => ({ token, logprob })) };
        return { value: reply.token, done: false };
      } catch (error) {
        throw hostFailure(error);
      }
    };
    const tokens: AsyncIterator<number> = { next };
    return { reusedTokens: reused, tokens, ...(logprobs !== undefined ? { logprob: () => last } : {}) };
  }

  async clear(): Promise<void> {
    this.tokens = [];
  }

  dispose(): void {
    this.tokens = [];
    this.release();
  }
}

function hostFailure(error: unknown): Error {
  if (error instanceof EngineFailedError) return error;
  if (error instanceof HostExitedError) return new EngineFailedError('executorch', `${error.message}; it is being restarted and the conversation is kept`, { cause: error });
  if (error instanceof HostRequestError && error.code === 'BAD_GRAMMAR') return new GrammarInvalidError(error.message);
  if (error instanceof HostRequestError) return new EngineFailedError('executorch', `${error.code}: ${error.message}`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}
