import { z } from 'zod';
import type { GenerateOptions, ModelRunner } from './model-runner.js';
import type { JsonSchema, OutputConstraint } from './output-constraint.js';
import { toolDefinition, type ToolDefinition } from './tools.js';
import type { ChatMessage, GenerationChunk, GenerationStats, ToolCall } from './types.js';

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
  return { kind: 'json-schema', schema: jsonSchemaOf(options.schema) };
}

/** A JSON schema as given, or a zod schema's JSON schema. */
function jsonSchemaOf(schema: JsonSchema | z.ZodType): JsonSchema {
  return schema instanceof z.ZodType ? (z.toJSONSchema(schema) as JsonSchema) : schema;
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
  send(text: string, options: SendOptions = {}): AsyncGenerator<GenerationChunk> {
    return this.turn([{ role: 'user', content: text }], options);
  }

  /** Streams the answer to the results of the last answer's tool calls (content: what each call returned, as text or JSON). */
  sendToolResults(results: ReadonlyArray<{ callId: string; content: string }>, options: SendOptions = {}): AsyncGenerator<GenerationChunk> {
    return this.turn(results.map((result) => ({ role: 'tool', toolCallId: result.callId, content: result.content })), options);
  }

  /** Sends and collects the whole answer (and the calls it made, when tools were given). */
  async ask(text: string, options: SendOptions = {}): Promise<Answer> {
    return collect(this.send(text, options));
  }

  /**
   * Answers `text` with tools the session calls itself: each call the model
   * makes runs its handler (arguments checked by the tool's zod schema when it
   * has one), the results go back to the model, until it answers in text or
   * `maxRounds` rounds of calls have run (then it must answer without tools).
   */
  async askWithTools(text: string, options: Omit<SendOptions, 'tools'> & { tools: readonly Tool[]; maxRounds?: number }): Promise<Answer & { calls: ToolRun[] }> {
    const { tools, maxRounds = 4, ...rest } = options;
    const definitions = tools.map(definitionOf);
    const calls: ToolRun[] = [];
    let pending: ChatMessage[] = [{ role: 'user', content: text }];
    for (let round = 0; ; round++) {
      const last = round >= maxRounds;
      const answer = await collect(this.turn(pending, { ...rest, tools: definitions, toolChoice: last ? 'none' : (rest.toolChoice ?? 'auto') }));
      if (!answer.toolCalls?.length || last) return { ...answer, calls };
      pending = [];
      for (const call of answer.toolCalls) {
        const tool = tools.find((t) => t.name === call.name)!;
        const result = await runTool(tool, call.arguments);
        calls.push({ call, result });
        pending.push({ role: 'tool', toolCallId: call.id, content: JSON.stringify(result ?? null) });
      }
      // After a round that had to call (required or a named tool), the model may answer freely.
      rest.toolChoice = 'auto';
    }
  }

  /** One turn: `added` (a user message, or tool results) joins the history with the answer. */
  private async *turn(added: ChatMessage[], options: SendOptions): AsyncGenerator<GenerationChunk> {
    const system: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }] : [];
    const defaults = this.options.defaults ?? {};
    const { schema: _schema, ...generate } = options;
    const constraint = constraintOf(options) ?? defaults.constraint;
    const stream = this.runner.chat([...system, ...this.messages, ...added], {
      ...defaults,
      ...generate,
      sampling: { ...defaults.sampling, ...options.sampling },
      ...(constraint ? { constraint } : {}),
    });
    let answer = '';
    let finished = false;
    let failed = false;
    let toolCalls: ToolCall[] | undefined;
    try {
      for await (const chunk of stream) {
        if (chunk.type === 'text') answer += chunk.text;
        else {
          finished = chunk.stats.stopReason !== 'abort';
          toolCalls = chunk.toolCalls;
          this.last = chunk.stats;
        }
        yield chunk;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      const reply: ChatMessage = toolCalls ? { role: 'assistant', content: '', toolCalls } : { role: 'assistant', content: answer, ...(finished ? {} : { incomplete: true }) };
      if (!failed) this.messages.push(...added, reply);
    }
  }
}

export interface Answer {
  text: string;
  stats: GenerationStats;
  /** The calls the answer made, when tools were given and it made some. */
  toolCalls?: ToolCall[];
}

/** A function the session calls for the model: a JSON or zod schema for its arguments, and the code that runs it. */
export interface Tool {
  name: string;
  description?: string;
  parameters: JsonSchema | z.ZodType;
  handler: (args: Record<string, unknown>) => unknown;
}

/** A call the model made and what its handler returned. */
export interface ToolRun {
  call: ToolCall;
  result: unknown;
}

function definitionOf(tool: Tool): ToolDefinition {
  return toolDefinition({ ...tool, parameters: jsonSchemaOf(tool.parameters) });
}

/** Runs a tool's handler; a zod schema checks (and types) the arguments first. A handler's failure goes back to the model as its result. */
async function runTool(tool: Tool, args: Record<string, unknown>): Promise<unknown> {
  try {
    const checked = tool.parameters instanceof z.ZodType ? (tool.parameters.parse(args) as Record<string, unknown>) : args;
    return await tool.handler(checked);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

async function collect(stream: AsyncGenerator<GenerationChunk>): Promise<Answer> {
  for await (const chunk of stream) {
    if (chunk.type === 'done') return { text: chunk.text, stats: chunk.stats, ...(chunk.toolCalls ? { toolCalls: chunk.toolCalls } : {}) };
  }
  throw new Error('generation ended without a done chunk');
}
