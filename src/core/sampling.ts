import { z } from 'zod';

/**
 * Sampling options. Validated by a schema because they arrive from CLI
 * flags, HTTP bodies and config files. `temperature: 0` means greedy.
 */
export const samplingSchema = z.strictObject({
  temperature: z.number().min(0).max(5).default(0.7),
  topK: z.number().int().min(0).default(40),
  topP: z.number().gt(0).max(1).default(0.95),
  minP: z.number().min(0).max(1).default(0.05),
  repeatPenalty: z.number().min(1).max(3).default(1.1),
  /** How many recent tokens the repetition penalty looks at. */
  repeatLastN: z.number().int().min(0).max(4096).default(64),
  /** OpenAI's range: a negative value makes repeating more likely. */
  frequencyPenalty: z.number().min(-2).max(2).default(0),
  presencePenalty: z.number().min(-2).max(2).default(0),
  /** Same seed, same input and same settings give the same output. */
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
});

export type SamplingOptions = z.output<typeof samplingSchema>;
export type SamplingInput = z.input<typeof samplingSchema>;

export function resolveSampling(input: SamplingInput = {}): SamplingOptions {
  return samplingSchema.parse(input);
}
