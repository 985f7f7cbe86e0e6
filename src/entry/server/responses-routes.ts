import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { GenerateOptions } from '../../core/model-runner.js';
import type { OutputConstraint } from '../../core/output-constraint.js';
import { toolDefinition, ToolCallStream } from '../../core/tools.js';
import type { ChatMessage, GenerationChunk, GenerationStats, ToolCall } from '../../core/types.js';
import { toHttpError } from './http-errors.js';
import { disconnectSignal, parseBody, requireRunner, toolOptions, type RouteContext } from './openai-routes.js';
import { responsesRequest, type ResponsesRequest } from './responses-schemas.js';
import { streamGeneration, type SendEvent } from './sse.js';

type Done = Extract<GenerationChunk, { type: 'done' }>;

const newId = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '')}`;

/** `input` (and `instructions`) as the core's conversation: calls on the assistant turn before them, outputs as tool turns. */
function conversation(body: ResponsesRequest): ChatMessage[] {
  const messages: ChatMessage[] = body.instructions ? [{ role: 'system', content: body.instructions }] : [];
  if (typeof body.input === 'string') return [...messages, { role: 'user', content: body.input }];
  for (const item of body.input) {
    if (item.type === 'function_call') {
      const call: ToolCall = { id: item.call_id, name: item.name, arguments: parseArguments(item.arguments) };
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
      else messages.push({ role: 'assistant', content: '', toolCalls: [call] });
    } else if (item.type === 'function_call_output') messages.push({ role: 'tool', content: item.output, toolCallId: item.call_id });
    else messages.push({ role: item.role === 'developer' ? 'system' : item.role, content: item.content });
  }
  return messages;
}

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // an unparsable call from a client's history is kept as no arguments
  }
  return {};
}

function options(body: ResponsesRequest, signal: AbortSignal, timeLimitMs: number): GenerateOptions {
  const sampling: Record<string, number> = {};
  if (typeof body.temperature === 'number') sampling.temperature = body.temperature;
  if (body.top_p === 0) sampling.temperature = 0;
  else if (typeof body.top_p === 'number') sampling.topP = body.top_p;
  const format = body.text?.format;
  const constraint: OutputConstraint | undefined =
    format?.type === 'json_schema' ? { kind: 'json-schema', schema: format.schema } : format?.type === 'json_object' ? { kind: 'json-object' } : undefined;
  return {
    sampling,
    signal,
    timeLimitMs,
    ...(body.max_output_tokens ? { maxTokens: body.max_output_tokens } : {}),
    ...(constraint ? { constraint } : {}),
    ...toolOptions((body.tools ?? []).map(toolDefinition), body.tool_choice, body.parallel_tool_calls),
  };
}

function usage(stats: GenerationStats) {
  return {
    input_tokens: stats.promptTokens,
    input_tokens_details: { cached_tokens: stats.reusedTokens },
    output_tokens: stats.decodeTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: stats.promptTokens + stats.decodeTokens,
  };
}

const messageItem = (id: string, text: string, status: string) => ({ type: 'message', id, status, role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
const callItem = (call: ToolCall, id: string, status: string) => ({ type: 'function_call', id, call_id: call.id, name: call.name, arguments: JSON.stringify(call.arguments), status });

/**
 * POST /v1/responses: OpenAI's Responses API, stateless. Text, JSON held to
 * `text.format`, or function calls (`tools`, `tool_choice`), whole or streamed
 * as the API's typed events.
 */
export function registerResponsesRoutes(app: Hono, ctx: RouteContext): void {
  app.post('/v1/responses', async (c) => {
    const body = await parseBody(c, responsesRequest);
    const runner = requireRunner(ctx.host);
    const abort = disconnectSignal(c);
    const stream = runner.chat(conversation(body), options(body, abort.signal, ctx.timeLimitMs));
    const head = { id: newId('resp'), object: 'response', created_at: Math.floor(Date.now() / 1000), model: ctx.modelId, error: null };
    const whole = (done: Done, output: object[]) => {
      const cut = !done.toolCalls?.length && done.stats.stopReason !== 'eos' && done.stats.stopReason !== 'stop-string';
      return { ...head, status: cut ? 'incomplete' : 'completed', incomplete_details: cut ? { reason: 'max_output_tokens' } : null, output, usage: usage(done.stats), onboard: done.stats };
    };
    const outputOf = (done: Done) => (done.toolCalls?.length ? done.toolCalls.map((call) => callItem(call, newId('fc'), 'completed')) : [messageItem(newId('msg'), done.text, 'completed')]);

    if (!body.stream) {
      let done: Done | undefined;
      for await (const chunk of stream) if (chunk.type === 'done') done = chunk;
      ctx.metrics.generation(done!.stats);
      return c.json(whole(done!, outputOf(done!)));
    }

    const first = await stream.next(); // errors before the first byte still get a status code
    let sequence = 0;
    const emit = (send: SendEvent, type: string, fields: object) => send({ type, sequence_number: sequence++, ...fields }, type);
    const messageId = newId('msg');
    // With tools the answer may be calls; the parser tells from its first character.
    const parser = body.tools?.length ? new ToolCallStream() : undefined;
    let textOpen = false;
    let answeredCalls = false;
    let text = '';
    const calls: Array<{ id: string; call: ToolCall; args: string }> = [];
    const openText = async (send: SendEvent) => {
      textOpen = true;
      await emit(send, 'response.output_item.added', { output_index: 0, item: { type: 'message', id: messageId, status: 'in_progress', role: 'assistant', content: [] } });
      await emit(send, 'response.content_part.added', { item_id: messageId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
    };
    const closeCall = async (send: SendEvent, index: number) => {
      const open = calls[index]!;
      await emit(send, 'response.function_call_arguments.done', { item_id: open.id, output_index: index, arguments: open.args });
      await emit(send, 'response.output_item.done', { output_index: index, item: { type: 'function_call', id: open.id, call_id: open.call.id, name: open.call.name, arguments: open.args, status: 'completed' } });
    };
    return streamGeneration(c, first, stream, abort, {
      open: async (send) => {
        await emit(send, 'response.created', { response: { ...head, status: 'in_progress', output: [] } });
        if (!parser) await openText(send);
      },
      text: async (piece, send) => {
        const parts = parser?.push(piece);
        if (!parts) {
          if (!textOpen && piece) await openText(send);
          text += piece;
          await emit(send, 'response.output_text.delta', { item_id: messageId, output_index: 0, content_index: 0, delta: piece, logprobs: [] });
          return;
        }
        answeredCalls = true;
        for (const part of parts) {
          if (part.name !== undefined) {
            if (part.index > 0) await closeCall(send, part.index - 1);
            calls.push({ id: newId('fc'), call: { id: newId('call'), name: part.name, arguments: {} }, args: '' });
            const open = calls[part.index]!;
            await emit(send, 'response.output_item.added', { output_index: part.index, item: { type: 'function_call', id: open.id, call_id: open.call.id, name: part.name, arguments: '', status: 'in_progress' } });
          }
          const open = calls[part.index]!;
          if (part.arguments) {
            open.args += part.arguments;
            await emit(send, 'response.function_call_arguments.delta', { item_id: open.id, output_index: part.index, delta: part.arguments });
          }
        }
      },
      done: async (done, send) => {
        ctx.metrics.generation(done.stats);
        if (done.stats.stopReason === 'abort') return;
        let output: object[];
        if (answeredCalls) {
          if (calls.length > 0) await closeCall(send, calls.length - 1);
          output = calls.map((open) => ({ type: 'function_call', id: open.id, call_id: open.call.id, name: open.call.name, arguments: open.args, status: 'completed' }));
        } else {
          if (!textOpen) await openText(send);
          await emit(send, 'response.output_text.done', { item_id: messageId, output_index: 0, content_index: 0, text, logprobs: [] });
          await emit(send, 'response.content_part.done', { item_id: messageId, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
          const item = messageItem(messageId, text, 'completed');
          await emit(send, 'response.output_item.done', { output_index: 0, item });
          output = [item];
        }
        const response = whole(done, output);
        await emit(send, response.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
      },
      // A failure after the first byte: the API's failed event, so clients raise instead of keeping a cut answer.
      failed: (error, send) => {
        const { body: failure } = toHttpError(error);
        return emit(send, 'response.failed', { response: { ...head, status: 'failed', output: [], error: { code: failure.error.code ?? 'server_error', message: failure.error.message } } });
      },
    });
  });
}
