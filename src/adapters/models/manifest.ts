import { z } from 'zod';
import type { GgufSummary } from '../gguf/reader.js';

/** One manifest per installed model, next to its file in the cache. */
export const manifestSchema = z.object({
  schemaVersion: z.literal(1),
  id: z.string(),
  file: z.string(),
  source: z.object({ kind: z.enum(['local', 'hub', 'pypi']), location: z.string() }),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
  format: z.literal('gguf'),
  quantization: z.string(),
  architecture: z.string(),
  contextLength: z.number().int(),
  vocabularySize: z.number().int(),
  specialTokens: z.record(z.string(), z.object({ id: z.number().int(), text: z.string().optional() })),
  chatTemplate: z.boolean(),
  installedAt: z.string(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export function manifestFor(id: string, gguf: GgufSummary, sha256: string, source: Manifest['source'], file: string): Manifest {
  return {
    schemaVersion: 1,
    id,
    file,
    source,
    sha256,
    sizeBytes: gguf.fileSize,
    format: 'gguf',
    quantization: gguf.quantization,
    architecture: gguf.architecture,
    contextLength: gguf.contextLength,
    vocabularySize: gguf.vocabularySize,
    specialTokens: Object.fromEntries(Object.entries(gguf.specialTokens).map(([k, v]) => [k, v.text === undefined ? { id: v.id } : v])),
    chatTemplate: gguf.chatTemplate !== undefined,
    installedAt: new Date().toISOString(),
  };
}
