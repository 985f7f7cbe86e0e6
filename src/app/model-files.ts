import { describeForeignFile } from '../adapters/files/file-checks.js';
import { withModelBytes, type ModelKeySource } from '../adapters/files/model-bytes.js';
import type { SealedHeader } from '../adapters/files/sealed-format.js';
import type { GgufSummary } from '../adapters/gguf/reader.js';
import type { InstalledModel } from '../adapters/models/cache.js';
import type { PteSummary, PteValue } from '../adapters/pte/reader.js';
import type { Artifact } from '../core/artifact-plan.js';
import type { EngineEntry, EngineRegistry } from '../core/engine-registry.js';
import { NotAModelFileError, OnboardError } from '../core/errors.js';

/** A model file, opened once: which engine's it is (from its first bytes, never its name) and that engine's reading of its header. */
export interface OpenedModelFile {
  path: string;
  sizeBytes: number;
  entry: EngineEntry;
  header: unknown;
  /** The encryption header, when the file is encrypted at rest (sizeBytes is then the plaintext's). */
  sealed?: SealedHeader;
}

/** How many first bytes decide a file's format. */
const HEAD_BYTES = 64;

/**
 * The one place a model file is opened, once: its head read, the engine that
 * recognises it chosen, its header read and checked by that engine from the
 * same open file. What comes back flows through planning into loading, so
 * nothing of ours reads it again (the engine's native library maps it).
 * An encrypted file is read through `key`: its format is its plaintext's.
 */
export function openModelFile(engines: EngineRegistry, path: string, key?: ModelKeySource): Promise<OpenedModelFile> {
  return withModelBytes(
    path,
    async (file) => {
      const head = await file.read(0, HEAD_BYTES);
      const entry = engines.recognise(head);
      if (!entry) throw new NotAModelFileError(path, describeForeignFile(head), engines.entries.map((e) => e.fileKind).join(' or '));
      return { path, sizeBytes: file.size, entry, header: await entry.readHeader(file), ...(file.sealed ? { sealed: file.sealed } : {}) };
    },
    key,
  );
}

export type { GgufSummary, PteSummary, PteValue };

/** What a file says about itself: its format and its engine's reading of the header (a GgufSummary, a PteSummary...). */
export type ModelFileSummary = { format: string } & Record<string, unknown>;

/** What a file says about itself, for `inspect` and `models info`. */
export async function inspectModelFile(engines: EngineRegistry, path: string, key?: ModelKeySource): Promise<ModelFileSummary> {
  const file = await openModelFile(engines, path, key);
  const encryption = file.sealed ? { encryption: { format: `${file.sealed.format} v${file.sealed.version}`, cipher: file.sealed.cipher, chunkBytes: file.sealed.chunkBytes, plaintextSha256: file.sealed.plaintextSha256 } } : {};
  return { format: file.entry.format, ...(file.header as object), ...encryption };
}

/** A ready artifact, or why it cannot be one (an unreadable file, a delegate nobody places). */
export type ArtifactRead = { artifact: Artifact } | { id: string; problem: string };

/** An installed file as a plan's artifact: the targets its engine can run it on, read from the file itself. */
export async function readArtifact(engines: EngineRegistry, model: InstalledModel, key?: ModelKeySource): Promise<ArtifactRead> {
  const { manifest, path } = model;
  try {
    const file = await openModelFile(engines, path, key);
    const quality = manifest.format === 'pte' ? manifest.quality?.top1Agreement : undefined;
    const base = { id: manifest.id, path, sizeBytes: manifest.sizeBytes, quantization: manifest.quantization, ...(quality !== undefined ? { top1Agreement: quality } : {}) };
    return { artifact: { ...base, format: file.entry.format, targets: file.entry.targets(file.header), header: file.header } };
  } catch (error) {
    if (error instanceof OnboardError) return { id: manifest.id, problem: `${error.code}: ${error.message}` };
    throw error;
  }
}
