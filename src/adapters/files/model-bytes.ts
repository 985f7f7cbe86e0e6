import { open, stat } from 'node:fs/promises';
import type { ModelFileBytes } from '../../core/engine-registry.js';
import { ModelCorruptError, ModelIsDirectoryError, ModelKeyRequiredError, ModelNotFoundError, ModelNotReadableError } from '../../core/errors.js';
import { MemoryFile } from './memory-file.js';
import { SealedReader } from './sealed-file.js';
import { isSealed, SEALED_MAGIC, type SealedHeader } from './sealed-format.js';

/**
 * A model file open for reading. Every read of model bytes by onboard's own
 * code (format sniffing, the GGUF header check, the .pte reader) goes through
 * `openModelBytes`, which decrypts a file encrypted at rest as it reads. The
 * native engines (llama.cpp, ExecuTorch) map files by path themselves: an
 * encrypted one is first decrypted into a MemoryFile (`unsealToMemory`).
 */
export interface ModelBytes extends ModelFileBytes {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
  /** The encryption header, when the file is encrypted at rest; `size` and reads are then the plaintext's. */
  readonly sealed?: SealedHeader;
}

/** The key for encrypted models, asked for only when an encrypted file is met. */
export type ModelKeySource = () => Buffer | undefined;

/** Bytes read through the core's ModelFileBytes, as a Buffer (no copy). */
export async function readBuffer(file: ModelFileBytes, offset: number, length: number): Promise<Buffer> {
  const bytes = await file.read(offset, length);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Opens a model file after checking it exists, is a file, is not empty and is
 * readable (typed errors otherwise). An encrypted file needs `key`, and reads
 * give its plaintext, each chunk authenticated first.
 */
export async function openModelBytes(path: string, key?: ModelKeySource): Promise<ModelBytes> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fsError(error, path);
  }
  if (info.isDirectory()) throw new ModelIsDirectoryError(path);
  if (info.size === 0) throw new ModelCorruptError(path, 'the file is empty (0 bytes)');
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fsError(error, path);
  }
  const size = info.size;
  const magic = Buffer.alloc(SEALED_MAGIC.length);
  await handle.read(magic, 0, magic.length, 0);
  if (isSealed(magic)) {
    try {
      const secret = key?.();
      if (!secret) throw new ModelKeyRequiredError(path);
      const reader = await SealedReader.open(handle, path, secret);
      return { path, size: reader.size, encrypted: true, sealed: reader.sealed.header, read: (offset, length) => reader.read(offset, length), close: () => handle.close() };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  return {
    path,
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

/** Opens a model file, hands it to `use`, and closes it whatever happens. */
export async function withModelBytes<T>(path: string, use: (bytes: ModelBytes) => Promise<T>, key?: ModelKeySource): Promise<T> {
  const bytes = await openModelBytes(path, key);
  try {
    return await use(bytes);
  } finally {
    await bytes.close();
  }
}

function fsError(error: unknown, path: string): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ModelNotFoundError(path);
  if (code === 'EACCES' || code === 'EPERM') return new ModelNotReadableError(path);
  if (code === 'EISDIR') return new ModelIsDirectoryError(path);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * An encrypted model decrypted into memory only, for an engine that opens
 * files by path: every chunk is authenticated and the whole checked against
 * its sha256 before the file is handed out. On any failure nothing remains.
 */
export async function unsealToMemory(path: string, key: ModelKeySource | undefined): Promise<MemoryFile> {
  const secret = key?.();
  if (!secret) throw new ModelKeyRequiredError(path);
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fsError(error, path);
  }
  let memory: MemoryFile | undefined;
  try {
    const reader = await SealedReader.open(handle, path, secret);
    memory = MemoryFile.create();
    const target = memory;
    await reader.pipeTo((plain) => target.append(plain));
    return memory;
  } catch (error) {
    memory?.close();
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * A path a library can open to parse a model's header: the file itself, or,
 * for an encrypted file, a sparse memory file of the same size holding only
 * the first `headerBytes` decrypted (the rest reads as zeros and takes no memory).
 */
export async function withHeaderPath<T>(file: ModelFileBytes, headerBytes: number, use: (path: string) => Promise<T>): Promise<T> {
  if (!file.encrypted) return use(file.path);
  const memory = MemoryFile.create();
  try {
    memory.truncate(file.size);
    await memory.append(Buffer.from(await file.read(0, headerBytes)));
    return await use(memory.path);
  } finally {
    memory.close();
  }
}
