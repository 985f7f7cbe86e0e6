import { z } from 'zod';

/**
 * The sampling contract: every field, its range, its default and what it
 * means, declared here once. The CLI flags, the HTTP and UI schemas, stored
 * conversation settings and the web UI's inputs are built from these
 * declarations (test/sampling-contract.test.ts fails when one drifts), and
 * engines receive complete options with no defaults of their own.
 * `temperature: 0` means greedy.
 */
export const SAMPLING_FIELDS = {
  temperature: z.number().min(0).max(2).describe('randomness; 0 is greedy (always the likeliest token)'),
  topK: z.number().int().min(0).max(1 << 20).describe('sample among the k likeliest tokens (0: all)'),
  topP: z.number().gt(0).max(1).describe('sample among the likeliest tokens whose probabilities add up to p'),
  minP: z.number().min(0).max(1).describe('drop tokens less likely than p times the likeliest'),
  repeatPenalty: z.number().min(1).max(3).describe('penalty for repeating recent tokens (1: off)'),
  repeatLastN: z.number().int().min(0).max(4096).describe('how many recent tokens the repeat penalty looks at'),
  // OpenAI's range: a negative value makes repeating more likely.
  frequencyPenalty: z.number().min(-2).max(2).describe('penalty growing with how often a token appeared'),
  presencePenalty: z.number().min(-2).max(2).describe('penalty for any token that appeared'),
  seed: z.number().int().min(0).max(2 ** 32 - 1).describe('random seed; the same seed, input and settings give the same answer'),
} as const;

export type SamplingField = keyof typeof SAMPLING_FIELDS;

/** The defaults; `seed` has none (a fresh one per answer). */
export const SAMPLING_DEFAULTS = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
} as const satisfies Partial<Record<SamplingField, number>>;

const f = SAMPLING_FIELDS;
const d = SAMPLING_DEFAULTS;

/** Some fields, each in its range, no defaults filled in: what a request or a stored setting overrides. */
export const samplingOverridesSchema = z.strictObject(SAMPLING_FIELDS).partial();

/** Complete options, what engines receive: the overrides given, the defaults for the rest. */
export type SamplingOptions = Record<keyof typeof SAMPLING_DEFAULTS, number> & { seed?: number };
export type SamplingInput = z.input<typeof samplingOverridesSchema>;

export const samplingSchema = samplingOverridesSchema.transform((given): SamplingOptions => {
  const options: Record<string, number> = { ...SAMPLING_DEFAULTS };
  for (const [field, value] of Object.entries(given)) if (value !== undefined) options[field] = value;
  return options as SamplingOptions;
});

export function resolveSampling(input: SamplingInput = {}): SamplingOptions {
  return samplingSchema.parse(input);
}

/** The most answer tokens one request may ask for, and the default. */
export const MAX_TOKENS_LIMIT = 1 << 20;
export const DEFAULT_MAX_TOKENS = 512;
export const maxTokensSchema = z.number().int().min(1).max(MAX_TOKENS_LIMIT);

/** Each field's range and default, for clients that build their own inputs (the web UI via /api/info). */
export function describeSampling(): Record<SamplingField | 'maxTokens', { min?: number; max?: number; integer: boolean; default?: number; description?: string }> {
  const describe = (schema: z.ZodNumber, fallback?: number) => ({
    ...(schema.minValue !== null && Number.isFinite(schema.minValue) ? { min: schema.minValue } : {}),
    ...(schema.maxValue !== null && Number.isFinite(schema.maxValue) ? { max: schema.maxValue } : {}),
    integer: schema.isInt,
    ...(fallback !== undefined ? { default: fallback } : {}),
    ...(schema.description ? { description: schema.description } : {}),
  });
  const out = {} as ReturnType<typeof describeSampling>;
  for (const key of Object.keys(f) as SamplingField[]) out[key] = describe(f[key], (d as Partial<Record<SamplingField, number>>)[key]);
  out.maxTokens = describe(maxTokensSchema.describe('stop after this many answer tokens'), DEFAULT_MAX_TOKENS);
  return out;
}
