import { z } from 'zod';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const content = z.union([z.string(), z.array(textPart).min(1)]).transform((value) => (typeof value === 'string' ? value : value.map((part) => part.text).join('')));

/** Sampling fields shared by both endpoints. Unknown fields are ignored, as OpenAI clients send many. */
const sampling = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(1).max(1 << 20).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().min(1).max(3).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  /** Any integer, as OpenAI takes; the engines take 32 bits (see generateOptions). */
  seed: z.number().int().nullish(),
  stop: z.union([z.string().min(1, 'an empty stop string would end every answer at once'), z.array(z.string().min(1, 'an empty stop string would end every answer at once')).max(4)]).nullish(),
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
};

export const chatCompletionRequest = z.object({
  ...sampling,
  // OpenAI's `developer` role is its newer name for instructions: the system prompt to the model.
  messages: z
    .array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']).transform((role) => (role === 'developer' ? 'system' : role)), content }))
    .min(1)
    .refine((messages) => messages.at(-1)?.role === 'user', { message: 'the last message must be from the user: there is nothing to answer after an assistant message' }),
  max_completion_tokens: z.number().int().min(1).max(1 << 20).nullish(),
});

export const completionRequest = z.object({
  ...sampling,
  prompt: z.string().min(1),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;
export type CompletionRequest = z.infer<typeof completionRequest>;
