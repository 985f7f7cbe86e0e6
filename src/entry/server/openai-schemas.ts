import { z } from 'zod';
import { maxTokensSchema, SAMPLING_FIELDS, type SamplingField } from '../../core/sampling.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart).min(1)]).transform((value) => (typeof value === 'string' ? value : value.map((part) => part.text).join('')));

/** `topP` is `top_p`: OpenAI's names for the core's sampling fields. */
export function httpName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The core's sampling contract under OpenAI's names, each field nullable as
 * OpenAI's clients send null for "unset". Two widenings, both OpenAI's:
 * `top_p: 0` (keep only the likeliest token, i.e. greedy) and a seed of any
 * integer (folded into 32 bits by the route).
 */
const samplingFields = Object.fromEntries(
  (Object.keys(SAMPLING_FIELDS) as SamplingField[]).map((field) => {
    const schema = field === 'topP' ? z.union([z.literal(0), SAMPLING_FIELDS.topP]) : field === 'seed' ? z.number().int() : SAMPLING_FIELDS[field];
    return [httpName(field), schema.nullish()];
  }),
) as { [F in SamplingField as HttpName<F>]: z.ZodOptional<z.ZodNullable<z.ZodNumber | z.ZodUnion<[z.ZodLiteral<0>, z.ZodNumber]>>> };

type HttpName<S extends string> = S extends `${infer Head}${infer Tail}` ? `${Head extends Uppercase<Head> ? `_${Lowercase<Head>}` : Head}${HttpName<Tail>}` : '';

/** Absent, null, false, 0 or empty: how OpenAI clients send a feature they do not use. */
function isUnset(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/**
 * A field onboard does not implement yet, and whose silent omission would change the
 * answer's meaning (a tool call answered as prose, logprobs missing): refused by name.
 */
function notSupported(why: string) {
  return z.unknown().refine(isUnset, { message: `is not supported yet: ${why}` }).optional();
}

/** Fields shared by both endpoints. Unknown fields are ignored, as OpenAI clients send many; the ones that change the answer's meaning are refused. */
const sampling = {
  model: z.string().optional(),
  max_tokens: maxTokensSchema.nullish(),
  ...samplingFields,
  stop: z.union([z.string().min(1, 'an empty stop string would end every answer at once'), z.array(z.string().min(1, 'an empty stop string would end every answer at once')).max(4)]).nullish(),
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  logit_bias: notSupported('token biases are not applied'),
};

/** A call in an assistant message of the history; its arguments are a JSON object in a string, as OpenAI sends them. */
const toolCall = z.object({
  id: z.string().max(256),
  type: z.literal('function').optional(),
  function: z.object({
    name: z.string(),
    arguments: z.string().transform((text, ctx) => {
      try {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'arguments must be a JSON object in a string' });
      return z.NEVER;
    }),
  }),
});

/**
 * A message: OpenAI's roles, `developer` (its newer name for instructions) as
 * `system`; an assistant message may carry tool calls and no content; a `tool`
 * message answers a call by its id.
 */
const message = z.union([
  z.object({ role: z.enum(['system', 'developer', 'user']).transform((role) => (role === 'developer' ? 'system' : role)), content }),
  z.object({ role: z.literal('assistant'), content: content.nullish(), tool_calls: z.array(toolCall).nullish() }).refine((m) => m.content || m.tool_calls?.length, { message: 'an assistant message needs content or tool_calls' }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string().max(256) }),
]);

/** A function the model may call: OpenAI's `{ type: 'function', function: { name, description, parameters } }`. */
const tool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string(),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

/** OpenAI's structured output: plain text, any JSON object, or JSON valid against a schema (always enforced, whatever `strict` says). */
const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a name of up to 64 letters, digits, _ or -'),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

export const chatCompletionRequest = z.object({
  ...sampling,
  response_format: responseFormat.nullish(),
  messages: z
    .array(message)
    .min(1)
    .refine((messages) => ['user', 'tool'].includes(messages.at(-1)?.role ?? ''), { message: 'the last message must be from the user or a tool: there is nothing to answer after an assistant message' }),
  max_completion_tokens: maxTokensSchema.nullish(),
  tools: z.array(tool).max(128).nullish(),
  tool_choice: z
    .union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }).transform((choice) => ({ name: choice.function.name }))])
    .nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  functions: notSupported('the legacy functions field is not implemented: use tools'),
  function_call: notSupported('the legacy function_call field is not implemented: use tool_choice'),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
}).refine((body) => body.top_logprobs === undefined || body.top_logprobs === null || body.logprobs === true, { message: 'top_logprobs needs logprobs: true', path: ['top_logprobs'] });

export const completionRequest = z.object({
  ...sampling,
  prompt: z.string().min(1),
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: notSupported('the prompt is not echoed (its log probabilities are not kept: engines evaluate a prompt without keeping its logits)'),
  suffix: notSupported('insertion (a suffix) is not implemented'),
  best_of: z.unknown().refine((value) => isUnset(value) || value === 1, { message: 'is not supported yet: one completion is generated' }).optional(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;
