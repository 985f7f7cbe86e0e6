import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { GenerateOptions, ModelRunner } from '../../core/model-runner.js';
import type { ChatMessage, GenerationChunk, GenerationStats, LogprobEntry, StopReason } from '../../core/types.js';
import { toolDefinition, ToolCallStream, type ToolChoice, type ToolDefinition } from '../../core/tools.js';
import { HttpError, toHttpError } from './http-errors.js';
import type { Metrics } from './metrics.js';
import type { ModelHost } from './model-host.js';
import type { ThermalGuard } from '../../core/thermal.js';
import { streamGeneration } from './sse.js';
import { chatCompletionRequest, completionRequest, httpName, type ChatCompletionRequest, type CompletionRequest } from './openai-schemas.js';
import type { OutputConstraint } from '../../core/output-constraint.js';
import { SAMPLING_FIELDS, type SamplingField } from '../../core/sampling.js';

export interface RouteContext {
  host: ModelHost;
  metrics: Metrics;
  modelId: string;
  timeLimitMs: number;
  thermal?: ThermalGuard;
}

/** The runner, or a 503 while loading / the load error when loading failed. */
export function requireRunner(host: ModelHost): ModelRunner {
  if (host.runner) return host.runner;
  if (host.status === 'loading') throw new HttpError(503, 'The model is still loading', { code: 'model_loading', hint: 'Retry in a few seconds; GET /health says when it is ready.', headers: { 'retry-after': '2' } });
  throw host.error;
}

/** Parses a JSON body with a schema; a bad field is a 400 that names it. */
export async function parseBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new HttpError(400, 'The request body is not valid JSON', { code: 'invalid_json' });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    throw new HttpError(400, `Invalid ${param ?? 'body'}: ${issue.message}`, { code: 'invalid_value', param });
  }
  return parsed.data;
}

function generateOptions(body: CompletionRequest | z.infer<typeof chatCompletionRequest>, signal: AbortSignal, timeLimitMs: number): GenerateOptions {
  const maxTokens = ('max_completion_tokens' in body ? body.max_completion_tokens : undefined) ?? body.max_tokens ?? undefined;
  const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const sampling: Partial<Record<SamplingField, number>> = {};
  for (const field of Object.keys(SAMPLING_FIELDS) as SamplingField[]) {
    const value = body[httpName(field) as keyof typeof body];
    if (typeof value === 'number') sampling[field] = value;
  }
  // top_p 0 keeps only the likeliest token: that is greedy decoding.
  if (sampling.topP === 0) {
    delete sampling.topP;
    sampling.temperature = 0;
  }
  // OpenAI takes any integer; the same integer must give the same 32-bit engine seed.
  if (sampling.seed !== undefined) sampling.seed = ((sampling.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  const constraint = 'response_format' in body ? constraintOf(body.response_format) : undefined;
  const tools = 'tools' in body ? toolOptions((body.tools ?? []).map((tool) => toolDefinition(tool.function)), body.tool_choice, body.parallel_tool_calls) : {};
  // Chat: logprobs true with top_logprobs alternatives; completions: logprobs is the number of alternatives.
  const logprobs = 'messages' in body ? (body.logprobs ? (body.top_logprobs ?? 0) : undefined) : (body.logprobs ?? undefined);
  return { sampling, stop, signal, timeLimitMs, ...(maxTokens ? { maxTokens } : {}), ...(constraint ? { constraint } : {}), ...tools, ...(logprobs !== undefined ? { logprobs } : {}) };
}

/** A request's tools, tool_choice and parallel_tool_calls as the runner's options (chat completions and the Responses API). */
export function toolOptions(tools: readonly ToolDefinition[], choice: ToolChoice | null | undefined, parallel: boolean | null | undefined): Pick<GenerateOptions, 'tools' | 'toolChoice' | 'parallelToolCalls'> {
  if (tools.length === 0) return {};
  return { tools, ...(choice ? { toolChoice: choice } : {}), ...(typeof parallel === 'boolean' ? { parallelToolCalls: parallel } : {}) };
}

const utf8 = (text: string) => [...Buffer.from(text, 'utf8')];

/** Chat's `logprobs`: each token with its bytes and alternatives; null when not asked. */
function chatLogprobs(entries: LogprobEntry[] | undefined) {
  if (!entries) return null;
  return {
    content: entries.map((entry) => ({ token: entry.token, logprob: entry.logprob, bytes: utf8(entry.token), top_logprobs: entry.top.map((alt) => ({ token: alt.token, logprob: alt.logprob, bytes: utf8(alt.token) })) })),
    refusal: null,
  };
}

/** The legacy completions' `logprobs`: parallel lists, with each token's offset in the text. */
function completionLogprobs(entries: LogprobEntry[] | undefined) {
  if (!entries) return null;
  let offset = 0;
  return {
    tokens: entries.map((entry) => entry.token),
    token_logprobs: entries.map((entry) => entry.logprob),
    top_logprobs: entries.map((entry) => Object.fromEntries(entry.top.map((alt) => [alt.token, alt.logprob]))),
    text_offset: entries.map((entry) => {
      const at = offset;
      offset += entry.token.length;
      return at;
    }),
  };
}

/** OpenAI's messages as the core's: tool calls with parsed arguments, tool results with the call they answer. */
function chatMessages(messages: ChatCompletionRequest['messages']): ChatMessage[] {
  return messages.map((message): ChatMessage => {
    if (message.role === 'tool') return { role: 'tool', content: message.content, toolCallId: message.tool_call_id };
    if (message.role !== 'assistant') return message;
    const toolCalls = (message.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
    return { role: 'assistant', content: message.content ?? '', ...(toolCalls.length ? { toolCalls } : {}) };
  });
}

/** The answer as OpenAI's assistant message: its text, or its calls with no content. */
function assistantMessage(done: Done) {
  if (!done.toolCalls?.length) return { role: 'assistant', content: done.text };
  return { role: 'assistant', content: null, tool_calls: done.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } })) };
}

function chatFinishReason(done: Done): string {
  return done.toolCalls?.length ? 'tool_calls' : finishReason(done.stats.stopReason);
}

/**
 * A streamed answer that may be calls, sent as OpenAI's `delta.tool_calls`:
 * each call's id and name first, then its arguments in fragments; undefined
 * when the answer is text, which streams as content.
 */
function toolCallDeltas(parser: ToolCallStream, text: string): object[] | undefined {
  return parser.push(text)?.map(({ index, name, arguments: fragment }) =>
    name !== undefined ? { index, id: `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`, type: 'function', function: { name, arguments: fragment } } : { index, function: { arguments: fragment } },
  );
}

/** `response_format` as the core's constraint; a schema-less json_schema asks for any JSON object. */
function constraintOf(format: ChatCompletionRequest['response_format']): OutputConstraint | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_schema' && format.json_schema.schema) return { kind: 'json-schema', schema: format.json_schema.schema };
  return { kind: 'json-object' };
}

export function finishReason(reason: StopReason): 'stop' | 'length' {
  return reason === 'max-tokens' || reason === 'context-full' || reason === 'time-limit' ? 'length' : 'stop';
}

function usage(stats: GenerationStats) {
  return { prompt_tokens: stats.promptTokens, completion_tokens: stats.decodeTokens, total_tokens: stats.promptTokens + stats.decodeTokens, prompt_tokens_details: { cached_tokens: stats.reusedTokens } };
}

/** An AbortSignal that fires when the client goes away. */
export function disconnectSignal(c: Context): AbortController {
  const controller = new AbortController();
  c.req.raw.signal.addEventListener('abort', () => controller.abort());
  return controller;
}

type Done = Extract<GenerationChunk, { type: 'done' }>;

/** How one endpoint shapes a generation: the whole response, or its stream of events. */
interface ResponseFormat {
  whole(done: Done): object;
  opening: object[];
  /** The events for a piece of text (none while a piece is held back), with its tokens' log probabilities when asked. */
  pieces(text: string, logprobs?: LogprobEntry[]): object[];
  closing(done: Done): object[];
}

/** Sends a generation as one JSON body or as server-sent events ending with [DONE]. */
async function respond(c: Context, ctx: RouteContext, stream: AsyncGenerator<GenerationChunk>, abort: AbortController, streaming: boolean, format: ResponseFormat) {
  if (!streaming) {
    const done = await collect(stream);
    ctx.metrics.generation(done.stats);
    return c.json(format.whole(done));
  }
  const first = await stream.next(); // errors before the first byte still get a proper status code
  let aborted = false;
  return streamGeneration(c, first, stream, abort, {
    open: async (send) => {
      for (const event of format.opening) await send(event);
    },
    text: async (text, send, logprobs) => {
      for (const event of format.pieces(text, logprobs)) await send(event);
    },
    done: async (done, send) => {
      ctx.metrics.generation(done.stats);
      aborted = done.stats.stopReason === 'abort';
      if (!aborted) for (const event of format.closing(done)) await send(event);
    },
    // An aborted answer has no client left to tell, and gets no [DONE].
    end: async (send) => {
      if (!aborted) await send('[DONE]');
    },
    // A failure after the first byte: an error event (OpenAI clients raise it), no [DONE], so no client takes a cut answer for a whole one.
    failed: (error, send) => send(toHttpError(error).body),
  });
}

/** OpenAI's system_fingerprint: what produced the answer (engine and where it ran), so a client can tell a change of backend. */
function fingerprint(runner: ModelRunner): string {
  return `fp_onboard_${runner.model.engine}_${runner.model.backend.backend}`.replace(/[^A-Za-z0-9_]/g, '');
}

export function registerOpenAiRoutes(app: Hono, ctx: RouteContext): void {
  // `created`: when this server started serving the model (the file's own date says nothing OpenAI clients use).
  const created = Math.floor(Date.now() / 1000);
  const modelObject = { id: ctx.modelId, object: 'model', created, owned_by: 'onboard' };
  app.get('/v1/models', (c) => c.json({ object: 'list', data: [modelObject] }));
  app.get('/v1/models/:id', (c) => {
    if (c.req.param('id') !== ctx.modelId) throw new HttpError(404, `The model ${c.req.param('id')} is not served here`, { code: 'model_not_found', param: 'id', hint: `This server serves ${ctx.modelId}; GET /v1/models lists it.` });
    return c.json(modelObject);
  });

  app.post('/v1/chat/completions', async (c) => {
    const body = await parseBody(c, chatCompletionRequest);
    const runner = requireRunner(ctx.host);
    const abort = disconnectSignal(c);
    const stream = runner.chat(chatMessages(body.messages), generateOptions(body, abort.signal, ctx.timeLimitMs));
    const head = { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model: ctx.modelId, system_fingerprint: fingerprint(runner) };
    const chunk = (delta: object, finish: string | null, extra: object = {}, logprobs: LogprobEntry[] | undefined = undefined) => ({ ...head, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, logprobs: chatLogprobs(logprobs) }], ...extra });
    const calls = body.tools?.length ? new ToolCallStream() : undefined;
    return await respond(c, ctx, stream, abort, Boolean(body.stream), {
      whole: (done) => ({
        ...head,
        object: 'chat.completion',
        choices: [{ index: 0, message: assistantMessage(done), finish_reason: chatFinishReason(done), logprobs: chatLogprobs(done.logprobs) }],
        usage: usage(done.stats),
        onboard: done.stats,
      }),
      opening: [chunk({ role: 'assistant', content: '' }, null)],
      pieces: (text, logprobs) => {
        const toolDeltas = calls && toolCallDeltas(calls, text);
        if (toolDeltas) return toolDeltas.map((delta) => chunk({ tool_calls: [delta] }, null));
        return [chunk({ content: text }, null, {}, logprobs)];
      },
      closing: (done) => [
        chunk({}, chatFinishReason(done), { onboard: done.stats }),
        ...(body.stream_options?.include_usage ? [{ ...head, object: 'chat.completion.chunk', choices: [], usage: usage(done.stats) }] : []),
      ],
    });
  });

  app.post('/v1/completions', async (c) => {
    const body = await parseBody(c, completionRequest);
    const runner = requireRunner(ctx.host);
    const abort = disconnectSignal(c);
    const stream = runner.complete(body.prompt, generateOptions(body, abort.signal, ctx.timeLimitMs));
    const head = { id: `cmpl-${randomUUID()}`, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: ctx.modelId, system_fingerprint: fingerprint(runner) };
    const choice = (text: string, finish: string | null, logprobs?: LogprobEntry[]) => ({ index: 0, text, finish_reason: finish, logprobs: completionLogprobs(logprobs) });
    return await respond(c, ctx, stream, abort, Boolean(body.stream), {
      whole: (done) => ({ ...head, choices: [choice(done.text, finishReason(done.stats.stopReason), done.logprobs)], usage: usage(done.stats), onboard: done.stats }),
      opening: [],
      pieces: (text, logprobs) => [{ ...head, choices: [choice(text, null, logprobs)] }],
      closing: ({ stats }) => [{ ...head, choices: [choice('', finishReason(stats.stopReason))], usage: usage(stats) }],
    });
  });
}

async function collect(stream: AsyncGenerator<GenerationChunk>): Promise<Done> {
  for await (const chunk of stream) if (chunk.type === 'done') return chunk;
  throw new Error('generation ended without a done chunk');
}
