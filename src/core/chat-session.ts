import { chatTemplateFor, type ChatTemplate } from './chat-template.js';
import { fitPrompt } from './context-window.js';
import type { EngineSequence, LoadedModel, MemoryProbe } from './engine.js';
import { generate } from './generate.js';
import { resolveSampling, type SamplingInput } from './sampling.js';
import type { ChatMessage, GenerationChunk, GenerationStats } from './types.js';

export interface ChatSessionOptions {
  systemPrompt?: string;
  /** An earlier conversation to continue (e.g. restored from storage). */
  history?: readonly ChatMessage[];
  memory: MemoryProbe;
  /** Called with warnings meant for the user (e.g. a model without a chat template). */
  onWarning?: (message: string) => void;
  /** Defaults for every `send`; each call may override them. */
  defaults?: SendOptions;
}

export interface SendOptions {
  sampling?: SamplingInput;
  maxTokens?: number;
  stop?: readonly string[];
  signal?: AbortSignal;
}

export const DEFAULT_MAX_TOKENS = 512;

/**
 * A conversation with one model: system prompt, history, chat template,
 * context-window policy, and one KV-cache sequence reused across turns, so
 * each turn prefills only the tokens that are new.
 */
export class ChatSession {
  readonly template: ChatTemplate;
  private readonly sequence: EngineSequence;
  private messages: ChatMessage[] = [];
  private system: string | undefined;
  private last: GenerationStats | undefined;

  constructor(
    readonly model: LoadedModel,
    private readonly options: ChatSessionOptions,
  ) {
    this.template = chatTemplateFor(model.info, options.onWarning);
    this.sequence = model.createSequence();
    this.system = options.systemPrompt;
    this.messages = [...(options.history ?? [])];
  }

  get history(): readonly ChatMessage[] {
    return this.messages;
  }

  get systemPrompt(): string | undefined {
    return this.system;
  }

  get lastStats(): GenerationStats | undefined {
    return this.last;
  }

  setSystemPrompt(text: string | undefined): void {
    this.system = text || undefined;
  }

  /** Forgets the history; the KV cache of the shared prefix is still reused. */
  reset(): void {
    this.messages = [];
  }

  /**
   * Streams the answer to `text`. The turn joins the history when the
   * answer ends; a stopped or abandoned answer is kept, marked incomplete.
   * If the engine fails, the history is left as it was.
   */
  async *send(text: string, options: SendOptions = {}): AsyncGenerator<GenerationChunk> {
    const startedAt = performance.now();
    const merged = { ...this.options.defaults, ...options };
    const sampling = resolveSampling({ ...this.options.defaults?.sampling, ...options.sampling });
    const maxTokens = merged.maxTokens ?? DEFAULT_MAX_TOKENS;
    const user: ChatMessage = { role: 'user', content: text };
    const system: ChatMessage | undefined = this.system ? { role: 'system', content: this.system } : undefined;
    const fitted = fitPrompt(this.model, this.template, system, this.messages, user, maxTokens);

    let answer = '';
    let finished = false;
    let failed = false;
    try {
      for await (const chunk of generate({
        model: this.model,
        sequence: this.sequence,
        prompt: fitted.tokens,
        sampling,
        maxTokens,
        stop: merged.stop ?? [],
        signal: merged.signal,
        memory: this.options.memory,
        droppedMessages: fitted.droppedMessages,
        startedAt,
      })) {
        if (chunk.type === 'text') answer += chunk.text;
        else {
          finished = chunk.stats.stopReason !== 'abort';
          this.last = chunk.stats;
        }
        yield chunk;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (!failed) {
        this.messages.push(user, finished ? { role: 'assistant', content: answer } : { role: 'assistant', content: answer, incomplete: true });
      }
    }
  }

  /** Sends and collects the whole answer. */
  async ask(text: string, options: SendOptions = {}): Promise<{ text: string; stats: GenerationStats }> {
    for await (const chunk of this.send(text, options)) {
      if (chunk.type === 'done') return { text: chunk.text, stats: chunk.stats };
    }
    throw new Error('generation ended without a done chunk');
  }

  dispose(): void {
    this.sequence.dispose();
  }
}
