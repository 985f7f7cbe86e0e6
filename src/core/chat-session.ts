import { z } from 'zod';
import type { GenerateOptions, ModelRunner } from './model-runner.js';
import type { JsonSchema, OutputConstraint } from './output-constraint.js';
import type { ChatMessage, GenerationChunk, GenerationStats } from './types.js';

export interface ChatSessionOptions {
  systemPrompt?: string;
  /** An earlier conversation to continue (e.g. restored from storage). */
  history?: readonly ChatMessage[];
  /** Defaults for every `send`; each call may override them. */
  defaults?: GenerateOptions;
}

export interface SendOptions extends GenerateOptions {
  /** The answer is JSON valid against this schema: a JSON schema object or a zod schema (shorthand for `constraint`). */
  schema?: JsonSchema | z.ZodType;
}

/** `schema` as a constraint; a zod schema becomes its JSON schema. */
function constraintOf(options: SendOptions): OutputConstraint | undefined {
  if (options.schema === undefined) return options.constraint;
  const schema = options.schema instanceof z.ZodType ? (z.toJSONSchema(options.schema) as JsonSchema) : options.schema;
  return { kind: 'json-schema', schema };
}

/**
 * A conversation: system prompt and history over a ModelRunner. The runner
 * keeps the KV cache of the conversation, so each turn prefills only the
 * tokens that are new.
 */
export class ChatSession {
  private messages: ChatMessage[];
  private system: string | undefined;
  private last: GenerationStats | undefined;

  constructor(
    readonly runner: ModelRunner,
    private readonly options: ChatSessionOptions = {},
  ) {
    this.system = options.systemPrompt;
    this.messages = [...(options.history ?? [])];
  }

  get model() {
    return this.runner.model;
  }

  get template() {
    return this.runner.template;
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
   * If the engine fails or the prompt is refused, the history is left as it was.
   */
  async *send(text: string, options: SendOptions = {}): AsyncGenerator<GenerationChunk> {
    const user: ChatMessage = { role: 'user', content: text };
    const system: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }] : [];
    const defaults = this.options.defaults ?? {};
    const { schema: _schema, ...generate } = options;
    const constraint = constraintOf(options) ?? defaults.constraint;
    const stream = this.runner.chat([...system, ...this.messages, user], {
      ...defaults,
      ...generate,
      sampling: { ...defaults.sampling, ...options.sampling },
      ...(constraint ? { constraint } : {}),
    });
    let answer = '';
    let finished = false;
    let failed = false;
    try {
      for await (const chunk of stream) {
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
      if (!failed) this.messages.push(user, finished ? { role: 'assistant', content: answer } : { role: 'assistant', content: answer, incomplete: true });
    }
  }

  /** Sends and collects the whole answer. */
  async ask(text: string, options: SendOptions = {}): Promise<{ text: string; stats: GenerationStats }> {
    for await (const chunk of this.send(text, options)) {
      if (chunk.type === 'done') return { text: chunk.text, stats: chunk.stats };
    }
    throw new Error('generation ended without a done chunk');
  }
}
