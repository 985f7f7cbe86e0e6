import { open, stat } from 'node:fs/promises';
import type { ModelFileBytes } from '../../core/engine-registry.js';
import { ModelCorruptError, ModelIsDirectoryError, ModelNotFoundError, ModelNotReadableError } from '../../core/errors.js';

/**
 * A model file open for reading. Every read of model bytes by onboard's own
 * code (format sniffing, the GGUF header check, the .pte reader) goes through
 * `openModelBytes`: the one seam where decryption at rest will go. The native
 * engines (llama.cpp, ExecuTorch) map files by path themselves.
 */
export interface ModelBytes extends ModelFileBytes {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Bytes read through the core's ModelFileBytes, as a Buffer (no copy). */
export async function readBuffer(file: ModelFileBytes, offset: number, length: number): Promise<Buffer> {
  const bytes = await file.read(offset, length);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Opens a model file after checking it exists, is a file, is not empty and is readable (typed errors otherwise). */
export async function openModelBytes(path: string): Promise<ModelBytes> {
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
export async function withModelBytes<T>(path: string, use: (bytes: ModelBytes) => Promise<T>): Promise<T> {
  const bytes = await openModelBytes(path);
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
