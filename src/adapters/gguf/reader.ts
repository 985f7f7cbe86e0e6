import * as llamaCpp from 'node-llama-cpp';
import { GgufFileType, readGgufFileInfo, type GgufFileInfo } from 'node-llama-cpp';
import { ModelCorruptError, NotAModelFileError, UnsupportedArchitectureError } from '../../core/errors.js';
import { tensorBytes } from './ggml-types.js';
import { checkGgufHeader } from './header-check.js';
import type { ModelFileBytes } from '../../core/engine-registry.js';
import { describeForeignFile } from '../files/file-checks.js';
import { readBuffer, withHeaderPath, withModelBytes } from '../files/model-bytes.js';

export interface GgufSummary {
  path: string;
  fileSize: number;
  version: number;
  architecture: string;
  name?: string;
  quantization: string;
  contextLength: number;
  layers: number;
  embeddingLength: number;
  /** K/V width per token per layer (kv heads x head size). */
  kvWidth: number;
  tensorCount: number;
  tensorBytes: number;
  tensorTypes: Record<string, number>;
  tokenizerModel: string;
  vocabularySize: number;
  specialTokens: Record<string, { id: number; text: string | undefined }>;
  addBosToken: boolean;
  chatTemplate?: string;
}

const GGUF_MAGIC = 'GGUF';

/** Whether a file's first bytes are a GGUF's. */
export function isGgufHead(head: Uint8Array): boolean {
  return head.length >= 4 && Buffer.from(head.buffer, head.byteOffset, 4).toString('latin1') === GGUF_MAGIC;
}

/** Architectures this llama.cpp build knows, read from node-llama-cpp at run time. */
export function supportedArchitectures(): Set<string> {
  const table = (llamaCpp as unknown as { GgufArchitectureType: Record<string, string> }).GgufArchitectureType;
  return new Set(Object.values(table));
}

/**
 * Reads and checks a GGUF file before any engine touches it: exists, is a
 * readable file, has the GGUF magic, parses, has every tensor's data inside
 * the file, and names an architecture llama.cpp supports.
 */
export function readGguf(path: string): Promise<GgufSummary> {
  return withModelBytes(path, readGgufFrom);
}

/** readGguf on a file the caller holds open (the app's one opener). */
export async function readGgufFrom(file: ModelFileBytes): Promise<GgufSummary> {
  const { path, size } = file;
  const head = await readBuffer(file, 0, 16);
  if (!isGgufHead(head)) {
    if (head.length < 4) throw new ModelCorruptError(path, `only ${size} bytes`);
    throw new NotAModelFileError(path, describeForeignFile(head));
  }
  if (size < 24) throw new ModelCorruptError(path, `only ${size} bytes: a GGUF header alone takes 24`);
  // node-llama-cpp trusts the header's counts and lengths: check them against the file first.
  const { headerBytes } = await checkGgufHeader(file);
  let info: GgufFileInfo;
  try {
    info = await withHeaderPath(file, headerBytes, (source) => readGgufFileInfo(source, { readTensorInfo: true, logWarnings: false }));
  } catch (error) {
    throw new ModelCorruptError(path, `its header does not parse: ${(error as Error).message}`);
  }
  const architecture = (info.metadata as { general?: { architecture?: unknown } }).general?.architecture;
  if (typeof architecture !== 'string' || architecture === '') throw new ModelCorruptError(path, 'its header names no architecture (general.architecture)');
  const summary = summarize(path, size, info);
  if (!supportedArchitectures().has(summary.architecture)) throw new UnsupportedArchitectureError(path, summary.architecture);
  return summary;
}

function summarize(path: string, fileSize: number, info: GgufFileInfo): GgufSummary {
  const metadata = info.metadata as unknown as Record<string, Record<string, unknown>>;
  const general = metadata.general ?? {};
  const architecture = String(general.architecture ?? 'unknown');
  const arch = (metadata[architecture] ?? {}) as Record<string, unknown>;
  const attention = (arch.attention ?? {}) as Record<string, unknown>;
  const tokenizer = (metadata.tokenizer ?? {}) as Record<string, unknown>;
  const ggml = (tokenizer.ggml ?? {}) as Record<string, unknown>;
  const tokens = (ggml.tokens ?? []) as string[];

  const embeddingLength = Number(arch.embedding_length ?? 0);
  const heads = Number(attention.head_count ?? 1);
  const kvHeads = Number(attention.head_count_kv ?? heads);
  const headSize = Number(attention.key_length ?? (heads > 0 ? embeddingLength / heads : 0));

  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  const tensorTypes: Record<string, number> = {};
  let totalTensorBytes = 0;
  for (const tensor of tensors) {
    const typeName = ggmlTypeName(tensor.ggmlType);
    tensorTypes[typeName] = (tensorTypes[typeName] ?? 0) + 1;
    const bytes = tensorBytes(tensor.ggmlType, tensor.dimensions) ?? 0;
    totalTensorBytes += bytes;
    const end = Number(tensor.fileOffset) + bytes;
    if (end > fileSize) throw new ModelCorruptError(path, `tensor ${tensor.name} ends at byte ${end} but the file has ${fileSize} bytes (truncated download?)`);
  }

  const special: GgufSummary['specialTokens'] = {};
  for (const key of ['bos', 'eos', 'eot', 'eom', 'unknown', 'padding', 'separator'] as const) {
    const id = ggml[`${key}_token_id`];
    if (typeof id === 'number') special[key] = { id, text: tokens[id] };
  }

  const fileType = general.file_type;
  const chatTemplate = typeof tokenizer.chat_template === 'string' ? tokenizer.chat_template : undefined;
  return {
    path,
    fileSize,
    version: info.version,
    architecture,
    name: typeof general.name === 'string' ? general.name : undefined,
    quantization: typeof fileType === 'number' ? (GgufFileType[fileType]?.replace(/^MOSTLY_/, '') ?? `file type ${fileType}`) : 'unknown',
    contextLength: Number(arch.context_length ?? 0),
    layers: Number(arch.block_count ?? 0),
    embeddingLength,
    kvWidth: kvHeads * headSize,
    tensorCount: tensors.length,
    tensorBytes: totalTensorBytes,
    tensorTypes,
    tokenizerModel: String(ggml.model ?? 'unknown'),
    vocabularySize: Number(arch.vocab_size ?? tokens.length),
    specialTokens: special,
    addBosToken: ggml.add_bos_token === true,
    ...(chatTemplate ? { chatTemplate } : {}),
  };
}

function ggmlTypeName(type: number): string {
  return (llamaCpp.GgmlType as unknown as Record<number, string>)[type] ?? `type ${type}`;
}
