/** Domain types shared by the core, the engines and the entry points. */
import type { ThreadUse } from './engine.js';

/** Kinds of hardware, best first: the default priority order. */
export const ACCELERATOR_CLASSES = ['npu', 'gpu', 'cpu'] as const;
export type AcceleratorClass = (typeof ACCELERATOR_CLASSES)[number];

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  /** `tool`: a tool's result, answering the call `toolCallId`. */
  role: Role | 'tool';
  content: string;
  /** True when the answer was cut short (aborted or failed mid-stream). */
  incomplete?: boolean;
  /** An assistant turn's calls (its content may then be empty). */
  toolCalls?: ToolCall[];
  /** A tool turn: the call it answers. */
  toolCallId?: string;
}

/** A call the model made: which tool, with what arguments (valid against the tool's parameters). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export type BackendName = 'cpu' | 'vulkan' | 'cuda';
export type BackendRequest = BackendName | 'auto';

/**
 * Where a loaded model runs, and why: the same shape for every engine. The
 * target is what the engine names (a llama.cpp backend: cpu, vulkan, cuda;
 * an ExecuTorch delegate: xnnpack, vulkan, qnn...), its class the kind of
 * hardware (cpu, gpu, npu).
 */
export interface BackendChoice {
  backend: string;
  accelerator: AcceleratorClass;
  /** Device name(s) the backend reported, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  devices: string[];
  /** One line: why this backend was used. */
  reason: string;
  /** Every backend considered, in order, with the outcome. */
  attempts: BackendAttempt[];
  /** When the model has several artifacts: which one runs, and why. */
  artifact?: ArtifactChoice;
}

/** The artifact a model's fallback chain settled on, and every artifact it considered. */
export interface ArtifactChoice {
  id: string;
  format: string;
  /** The accelerator it runs on: a delegate (qnn, vulkan, xnnpack) or a llama.cpp backend (cuda, vulkan, cpu). */
  target: string;
  /** One line: why this artifact, and what was passed over. */
  reason: string;
  attempts: ArtifactAttempt[];
}

export interface ArtifactAttempt {
  artifact: string;
  target: string;
  outcome: 'used' | 'skipped' | 'failed';
  reason: string;
}

export interface BackendAttempt {
  backend: string;
  outcome: 'used' | 'skipped' | 'failed';
  reason: string;
}

export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'context-full' | 'time-limit' | 'abort';

/** Stats attached to the end of every generation. */
export interface GenerationStats {
  engine: string;
  backend: string;
  backendReason: string;
  /** The artifact used, when the model has several (see ArtifactChoice). */
  artifact?: string;
  artifactReason?: string;
  modelLoadMs: number;
  /** Time from the request to the first text token, in ms. */
  timeToFirstTokenMs: number;
  promptTokens: number;
  /** Prompt tokens already in the KV cache and not evaluated again. */
  reusedTokens: number;
  /** Prompt tokens evaluated for this request (promptTokens - reusedTokens). */
  prefillTokens: number;
  prefillTokensPerSecond: number;
  decodeTokens: number;
  decodeTokensPerSecond: number;
  /** CPU threads the engine used for a prompt batch and for a one-token step (undefined while still measured), when it chooses them. */
  threads?: ThreadUse;
  totalMs: number;
  peakRssBytes: number;
  stopReason: StopReason;
  /** Messages left out of the prompt to fit the context window (and the response-time budget). */
  droppedMessages: number;
  /** With a response-time budget: the budget, the predicted time to first token, and the rate it assumed. */
  ttftBudget?: { budgetMs: number; predictedMs: number; tokensPerSecond: number };
  /** With thermal awareness: the state when the answer ended, the deciding zone, and how many tokens were followed by a throttling pause. */
  thermal?: { state: 'normal' | 'throttled' | 'critical'; zone?: string; tempC?: number; throttledTokens: number };
}

/** One answer token's log probability, with its text, and the likeliest alternatives at its place. */
export interface LogprobEntry {
  token: string;
  logprob: number;
  top: Array<{ token: string; logprob: number }>;
}

export type GenerationChunk =
  /** `logprobs`, when asked: the tokens this piece of text came from (a piece may be held back and carry several). */
  | { type: 'text'; text: string; logprobs?: LogprobEntry[] }
  | { type: 'done'; text: string; stats: GenerationStats; toolCalls?: ToolCall[]; logprobs?: LogprobEntry[] };
