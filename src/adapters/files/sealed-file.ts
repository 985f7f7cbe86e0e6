import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { ModelTamperedError } from '../../core/errors.js';
import { sha256File } from '../models/files.js';
import {
  chunkAad,
  chunkNonce,
  chunkPlace,
  decodePrefix,
  DEFAULT_CHUNK_BYTES,
  encodePrefix,
  keyCheckOf,
  prefixLength,
  SEALED_CIPHER,
  TAG_BYTES,
  type SealedPrefix,
} from './sealed-format.js';

/** Reads exactly `length` bytes at `offset`, or fewer at the end of the file. */
async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Creates `path` (owner-only, never over an existing file), fills it with `fill` and syncs it; on any failure it is removed. */
async function writeNewFile(path: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await fill(handle);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw error;
  }
  await handle.close();
}

/**
 * Encrypts `sourcePath` into `destPath` (a new file, written owner-only).
 * Two passes over the source: the plaintext's sha256 goes in the header, which
 * every chunk authenticates. The written file's own sha256 is hashed as it is
 * written (for the cache's manifest). The caller renames the result into place.
 */
export async function sealFile(sourcePath: string, destPath: string, key: Buffer, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<SealedPrefix & { sealedSha256: string }> {
  const plaintextSha256 = await sha256File(sourcePath);
  const source = await open(sourcePath, 'r');
  try {
    const plaintextBytes = (await source.stat()).size;
    const nonce = randomBytes(8).toString('hex');
    const sealed = encodePrefix({ format: 'onboard-sealed', version: 1, cipher: SEALED_CIPHER, chunkBytes, plaintextBytes, plaintextSha256, nonce, keyCheck: keyCheckOf(key, nonce) });
    const written = createHash('sha256');
    const write = (dest: FileHandle, bytes: Buffer) => {
      written.update(bytes);
      return dest.write(bytes);
    };
    await writeNewFile(destPath, async (dest) => {
      await write(dest, sealed.prefix);
      for (let index = 0; index < sealed.chunkCount; index++) {
        const { plainBytes } = chunkPlace(sealed, index);
        const plain = await readAt(source, index * chunkBytes, plainBytes);
        if (plain.length !== plainBytes) throw new Error(`${sourcePath} changed while it was being encrypted`);
        const cipher = createCipheriv(SEALED_CIPHER, key, chunkNonce(sealed, index)).setAAD(chunkAad(sealed, index));
        await write(dest, Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
      }
    });
    return { ...sealed, sealedSha256: written.digest('hex') };
  } finally {
    await source.close();
  }
}

/**
 * A sealed file open for reading its plaintext: any range, chunk by chunk,
 * each chunk authenticated before a byte of it is returned.
 */
export class SealedReader {
  private cached: { index: number; plain: Buffer } | undefined;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    private readonly key: Buffer,
    readonly sealed: SealedPrefix,
  ) {}

  /** Opens and checks the header and the key; the handle is the caller's to close. */
  static async open(handle: FileHandle, path: string, key: Buffer): Promise<SealedReader> {
    const size = (await handle.stat()).size;
    const first = await readAt(handle, 0, 12);
    if (first.length < 12) throw new ModelTamperedError(path, 'the file is cut short inside its header');
    const prefix = await readAt(handle, 0, prefixLength(first, path));
    return new SealedReader(handle, path, key, decodePrefix(prefix, size, key, path));
  }

  get size(): number {
    return this.sealed.header.plaintextBytes;
  }

  /** Chunk `index`, decrypted and authenticated; the last one read is kept for the next small read. */
  async chunk(index: number): Promise<Buffer> {
    if (this.cached?.index !== index) this.cached = { index, plain: await this.decrypt(index) };
    return this.cached.plain;
  }

  private async decrypt(index: number): Promise<Buffer> {
    const { offset, plainBytes } = chunkPlace(this.sealed, index);
    const bytes = await readAt(this.handle, offset, plainBytes + TAG_BYTES);
    const decipher = createDecipheriv(SEALED_CIPHER, this.key, chunkNonce(this.sealed, index)).setAAD(chunkAad(this.sealed, index));
    decipher.setAuthTag(bytes.subarray(plainBytes));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(bytes.subarray(0, plainBytes)), decipher.final()]);
    } catch {
      throw new ModelTamperedError(this.path, `chunk ${index} of ${this.sealed.chunkCount} fails authentication`, index);
    }
    return plain;
  }

  /** Up to `length` plaintext bytes from `offset`. */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(this.size, offset + length);
    const parts: Buffer[] = [];
    const { chunkBytes } = this.sealed.header;
    for (let at = offset; at < end; ) {
      const index = Math.floor(at / chunkBytes);
      const plain = await this.chunk(index);
      const from = at - index * chunkBytes;
      const take = Math.min(plain.length - from, end - at);
      parts.push(plain.subarray(from, from + take));
      at += take;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Every chunk in order, to `write`; the plaintext's sha256 is checked against the header at the end. */
  async pipeTo(write: (plain: Buffer) => Promise<void>): Promise<void> {
    const hash = createHash('sha256');
    for (let index = 0; index < this.sealed.chunkCount; index++) {
      const plain = await this.decrypt(index);
      hash.update(plain);
      await write(plain);
    }
    if (hash.digest('hex') !== this.sealed.header.plaintextSha256) throw new ModelTamperedError(this.path, "the decrypted file's sha256 is not the one its header records");
  }
}

/** Decrypts `sourcePath` into `destPath` (a new file, owner-only). */
export async function unsealFile(sourcePath: string, destPath: string, key: Buffer): Promise<void> {
  const source = await open(sourcePath, 'r');
  try {
    const reader = await SealedReader.open(source, sourcePath, key);
    await writeNewFile(destPath, (dest) =>
      reader.pipeTo(async (plain) => {
        await dest.write(plain);
      }),
    );
  } finally {
    await source.close();
  }
}
