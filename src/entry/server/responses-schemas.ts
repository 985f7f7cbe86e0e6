import { z } from 'zod';
import { maxTokensSchema, SAMPLING_FIELDS } from '../../core/sampling.js';

/**
 * OpenAI's Responses API request, stateless: everything the model needs is
 * in `input` (onboard stores no responses, so `previous_response_id` is refused).
 */
const text = z.union([z.string(), z.array(z.object({ type: z.enum(['input_text', 'output_text', 'text']), text: z.string() })).min(1)]).transform((value) => (typeof value === 'string' ? value : value.map((part) => part.text).join('')));

const inputItem = z.union([
  z.object({ type: z.literal('message').optional(), role: z.enum(['system', 'developer', 'user', 'assistant']), content: text }),
  z.object({ type: z.literal('function_call'), call_id: z.string().max(256), name: z.string(), arguments: z.string(), id: z.string().optional() }),
  z.object({ type: z.literal('function_call_output'), call_id: z.string().max(256), output: z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string() })).transform((parts) => parts.map((p) => p.text).join(''))]) }),
]);

const functionTool = z.object({ type: z.literal('function'), name: z.string(), description: z.string().nullish(), parameters: z.record(z.string(), z.unknown()).nullish(), strict: z.boolean().nullish() });

const format = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), name: z.string().optional(), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish(), description: z.string().optional() }),
]);

export const responsesRequest = z.object({
  model: z.string().optional(),
  input: z.union([z.string().min(1), z.array(inputItem).min(1)]),
  instructions: z.string().nullish(),
  tools: z.array(functionTool).max(128).nullish(),
  tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string() }).transform((choice) => ({ name: choice.name }))]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: format.optional() }).nullish(),
  max_output_tokens: maxTokensSchema.nullish(),
  temperature: SAMPLING_FIELDS.temperature.nullish(),
  top_p: z.union([z.literal(0), SAMPLING_FIELDS.topP]).nullish(),
  stream: z.boolean().nullish(),
  previous_response_id: z
    .unknown()
    .refine((value) => value === undefined || value === null, { message: 'is not supported: onboard stores no responses; send the whole conversation in input' })
    .optional(),
});

export type ResponsesRequest = z.infer<typeof responsesRequest>;
