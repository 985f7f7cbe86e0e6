import type { ConstraintGrammar } from './output-constraint.js';
import type { SamplingOptions } from './sampling.js';
import type { MemoryFit } from './memory-estimate.js';
import type { BackendChoice } from './types.js';

/**
 * The engine port. An engine does only what only it can do: load a model
 * file, tokenize, evaluate tokens into its KV cache and sample the next
 * token. Chat templates, stop rules, streaming text and stats live in the core.
 */
export interface Engine<Header = unknown> {
  /** Its display name (llama.cpp, ExecuTorch). */
  readonly name: string;
  load(options: LoadOptions<Header>): Promise<LoadedModel>;
}

export interface LoadOptions<Header = unknown> {
  /** The model file: messages name it, and files beside it (a .pte's tokenizer) are found from it. */
  modelPath: string;
  /** Where the engine's native library opens the model's bytes, when not modelPath: an encrypted model decrypted into memory. */
  openPath?: string;
  /** The engine's own reading of the file's header, when the caller already has it: a model file is read once. */
  header?: Header;
  /** Context window in tokens. */
  contextSize: number;
  /** CPU threads: every batch's at most (default: the physical cores). */
  threads?: number;
  /** CPU threads for a one-token decode step; default: measured (core/decode-threads.ts). */
  decodeThreads?: number;
  /** KV-cache sequences (conversations served at once); 1 by default. */
  sequences?: number;
  /** Where to run: `auto`, or one of the engine's targets (a llama.cpp backend; the delegate an ExecuTorch program holds). */
  target: string;
  /** A tokenizer file, for engines whose model file does not carry one (a .pte); default: the one beside the model. */
  tokenizerPath?: string;
  /** Load within this many bytes (--memory-budget, the cgroup's limit): shrink the context, then the sequences, to fit. */
  memoryBudgetBytes?: number;
  /** Who asked for `target` when it is not auto, for the backend report (default: the --backend flag). */
  requestedBy?: string;
  signal?: CancelSignal;
}

/** What the model file says about itself. */
export interface ModelInfo {
  path: string;
  architecture: string;
  trainContextSize: number;
  vocabularySize: number;
  /** The Jinja chat template from the model's metadata, if it has one. */
  chatTemplate?: string;
  bosToken?: string;
  eosToken?: string;
  /** Whether the tokenizer expects a BOS token in front of the prompt. */
  addBosToken: boolean;
  bosTokenId?: number;
}

export interface LoadedModel {
  readonly engine: string;
  readonly info: ModelInfo;
  readonly backend: BackendChoice;
  readonly loadMs: number;
  readonly contextSize: number;
  /** `special: true` parses control tokens such as `<|im_start|>` in the text. */
  tokenize(text: string, options: { special: boolean }): number[];
  /** Text of the tokens; may end in U+FFFD when a multi-byte character is split. */
  detokenize(tokens: readonly number[]): string;
  /** End-of-generation tokens (EOS, end of turn). */
  isEndOfGeneration(token: number): boolean;
  createSequence(): EngineSequence;
  unload(): Promise<void>;
  /** Set when the model was loaded under a memory budget: what fit, and what was shrunk to fit. */
  readonly memoryFit?: MemoryFit;
  /** CPU threads in use, for engines that choose them: `decode` is undefined while it is being measured. */
  threadUse?(): ThreadUse | undefined;
}

export interface ThreadUse {
  /** Threads for a prompt's batch. */
  batch: number;
  /** Threads for a one-token step; undefined while the first measurement runs. */
  decode: number | undefined;
}

/** One conversation's slot in the KV cache. */
export interface EngineSequence {
  /** Tokens currently held in the KV cache, in order. */
  readonly cachedTokens: readonly number[];
  /**
   * Prepares a generation for `prompt`: keeps the longest common prefix
   * already in the KV cache and drops the rest. Evaluation starts when the
   * returned iterator is first pulled, and each pull yields one sampled token.
   * With a grammar, every sampled token keeps the answer inside it, and an
   * end-of-generation token comes only where the grammar is complete.
   */
  begin(prompt: readonly number[], sampling: SamplingOptions, extras?: GenerationExtras): Promise<EngineGeneration>;
  /** Drops everything from the KV cache. */
  clear(): Promise<void>;
  dispose(): void;
}

export interface GenerationExtras {
  /** The grammar every token must keep the answer inside. */
  grammar?: ConstraintGrammar;
  /** Report each token's log probability and this many likeliest alternatives (0 to 20). */
  logprobs?: number;
}

export interface EngineGeneration {
  /** Prompt tokens reused from the KV cache. */
  readonly reusedTokens: number;
  readonly tokens: AsyncIterator<number>;
  /** With `logprobs` asked: the log probability of the token last yielded, and the likeliest alternatives. */
  logprob?(): TokenLogprob | undefined;
}

/** A token's natural-log probability under the model, and the likeliest tokens at its place, best first. */
export interface TokenLogprob {
  logprob: number;
  top: Array<{ token: number; logprob: number }>;
}

/** How many leading tokens two sequences share. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
  return shared;
}

/** Reads the process's peak memory; the platform provides it. */
export interface MemoryProbe {
  peakRssBytes(): number;
}

/** A monotonic clock in milliseconds (performance.now() under Node); the platform provides it. */
export interface Clock {
  now(): number;
}

/**
 * What the core needs of a cancellation signal. A DOM/Node AbortSignal is
 * one; the core names only this much so it also runs where none exists
 * (Hermes) and the host passes its own.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
}
