import { z } from 'zod';
import { MODEL_ID_PATTERN, MODEL_ID_RULE } from '../../core/model-id.js';
import type { GgufSummary } from '../gguf/reader.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** Ids and file names become paths in the cache: one grammar for both. */
const cacheName = z.string().regex(MODEL_ID_PATTERN, `must be ${MODEL_ID_RULE}`);

/** Set when the file is encrypted at rest (`onboard models encrypt`): `sha256` and `sizeBytes` are then the encrypted file's. */
const encryption = z
  .object({
    format: z.literal('onboard-sealed-1'),
    cipher: z.literal('aes-256-gcm'),
    plaintextSha256: sha256,
    plaintextBytes: z.number().int().nonnegative(),
    /** The file's name before it was encrypted, given back by `decrypt`. */
    plaintextFile: cacheName,
  })
  .optional();

/** One manifest per installed GGUF model, next to its file in the cache. */
export const ggufManifestSchema = z.object({
  schemaVersion: z.literal(1),
  id: cacheName,
  /** The model this artifact is one form of (artifacts of one model are chosen among by device). */
  model: z.string().optional(),
  file: cacheName,
  source: z.object({ kind: z.enum(['local', 'hub', 'pypi']), location: z.string() }),
  sha256,
  sizeBytes: z.number().int().nonnegative(),
  format: z.literal('gguf'),
  quantization: z.string(),
  architecture: z.string(),
  contextLength: z.number().int(),
  vocabularySize: z.number().int(),
  specialTokens: z.record(z.string(), z.object({ id: z.number().int(), text: z.string().optional() })),
  chatTemplate: z.boolean(),
  encryption,
  installedAt: z.string(),
});

/** An ExecuTorch program made by `onboard export`: the .pte, its tokenizer and how it was made. */
export const pteManifestSchema = z.object({
  schemaVersion: z.literal(1),
  id: cacheName,
  model: z.string().optional(),
  file: cacheName,
  tokenizerFile: cacheName,
  source: z.object({ kind: z.literal('export'), location: z.string(), sha256 }),
  sha256,
  sizeBytes: z.number().int().nonnegative(),
  format: z.literal('pte'),
  /** Delegate backends, read from the .pte itself. */
  backends: z.array(z.string()),
  quantization: z.string(),
  modelClass: z.string(),
  maxSeqLength: z.number().int(),
  maxContextLength: z.number().int(),
  vocabularySize: z.number().int(),
  bosId: z.number().int(),
  eosIds: z.array(z.number().int()),
  /** Hash of the validated config, the source hash and the toolchain: equal keys mean an equal export. */
  exportKey: z.string(),
  exportDurationSeconds: z.number(),
  versions: z.record(z.string(), z.string()),
  verification: z.object({ prompt: z.string(), logitsShape: z.array(z.number().int()), continuation: z.string() }).nullable(),
  /** What quantization kept, measured at export: the share of positions where the program's top-1 token is the reference's. */
  quality: z.object({ top1Agreement: z.number().min(0).max(1), positions: z.number().int().positive(), reference: z.string() }).optional(),
  /** Set when the source was a synthetic checkpoint (`onboard dev make-checkpoint`): random weights, meaningless answers. */
  synthetic: z.object({ shapeOf: z.string(), layers: z.number().int(), seed: z.number().int() }).optional(),
  encryption,
  installedAt: z.string(),
});

export const manifestSchema = z.discriminatedUnion('format', [ggufManifestSchema, pteManifestSchema]);

export type GgufManifest = z.infer<typeof ggufManifestSchema>;
export type PteManifest = z.infer<typeof pteManifestSchema>;
export type Manifest = GgufManifest | PteManifest;

export function manifestFor(id: string, gguf: GgufSummary, sha256: string, source: GgufManifest['source'], file: string, model?: string): GgufManifest {
  return {
    schemaVersion: 1,
    id,
    ...(model ? { model } : {}),
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
