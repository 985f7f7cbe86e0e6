import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ModelKeyWrongError, ModelTamperedError } from '../../core/errors.js';

/**
 * onboard's format for a model encrypted at rest (docs/vehicle.md):
 *
 *   "ONBDSEAL" | u32 LE header length | header (JSON) | chunk 0 | chunk 1 | ...
 *
 * Each chunk is up to `chunkBytes` of the plaintext, encrypted with
 * AES-256-GCM and followed by its 16-byte tag. A chunk's nonce is the file's
 * random 8-byte nonce and the chunk's index; its additional data is the
 * whole prefix (magic, length, header) with the index and a last-chunk flag,
 * so a changed header, a swapped, dropped or appended chunk, or a cut file
 * fails authentication and is named by its chunk.
 */
export const SEALED_MAGIC = Buffer.from('ONBDSEAL', 'latin1');
export const SEALED_CIPHER = 'aes-256-gcm';
export const TAG_BYTES = 16;
export const DEFAULT_CHUNK_BYTES = 1 << 20;
const MAX_HEADER_BYTES = 4096;
const KEY_CHECK_LABEL = 'onboard-sealed key check';

export const sealedHeaderSchema = z.strictObject({
  format: z.literal('onboard-sealed'),
  version: z.literal(1),
  cipher: z.literal(SEALED_CIPHER),
  chunkBytes: z.number().int().min(4096).max(64 << 20),
  plaintextBytes: z.number().int().nonnegative(),
  plaintextSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** 8 random bytes, hex: the first part of every chunk's nonce. */
  nonce: z.string().regex(/^[0-9a-f]{16}$/),
  /** HMAC-SHA256(key, label | nonce), first 16 bytes, hex: tells a wrong key from a damaged file. */
  keyCheck: z.string().regex(/^[0-9a-f]{32}$/),
});

export type SealedHeader = z.infer<typeof sealedHeaderSchema>;

/** A sealed file's parsed prefix: the header, the prefix bytes (every chunk's additional data starts with them) and where chunk 0 starts. */
export interface SealedPrefix {
  header: SealedHeader;
  prefix: Buffer;
  chunkCount: number;
  /** The sealed file's exact size: anything else is a cut or extended file. */
  sealedBytes: number;
}

export function isSealed(head: Uint8Array): boolean {
  return head.length >= SEALED_MAGIC.length && SEALED_MAGIC.equals(Buffer.from(head.buffer, head.byteOffset, SEALED_MAGIC.length));
}

export function keyCheckOf(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).update(Buffer.from(nonce, 'hex')).digest().subarray(0, 16).toString('hex');
}

export function chunkCountOf(plaintextBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(plaintextBytes / chunkBytes));
}

/** The prefix for a new sealed file. */
export function encodePrefix(header: SealedHeader): SealedPrefix {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const prefix = Buffer.concat([SEALED_MAGIC, length, json]);
  const chunkCount = chunkCountOf(header.plaintextBytes, header.chunkBytes);
  return { header, prefix, chunkCount, sealedBytes: prefix.length + header.plaintextBytes + chunkCount * TAG_BYTES };
}

/** How many bytes to read to hold the whole prefix, given the first 12. */
export function prefixLength(first12: Buffer, path: string): number {
  const length = first12.readUInt32LE(SEALED_MAGIC.length);
  if (length === 0 || length > MAX_HEADER_BYTES) throw new ModelTamperedError(path, `the header length (${length} bytes) is not that of an onboard-sealed header`);
  return SEALED_MAGIC.length + 4 + length;
}

/** Parses and checks the prefix, and that `key` is the file's key (before any chunk is touched). */
export function decodePrefix(prefix: Buffer, fileBytes: number, key: Buffer, path: string): SealedPrefix {
  let parsed;
  try {
    parsed = sealedHeaderSchema.safeParse(JSON.parse(prefix.subarray(SEALED_MAGIC.length + 4).toString('utf8')));
  } catch (error) {
    throw new ModelTamperedError(path, `the header is not JSON (${(error as Error).message})`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelTamperedError(path, `the header is not an onboard-sealed version 1 header (${issue.path.join('.') || 'header'}: ${issue.message})`);
  }
  const header = parsed.data;
  const expected = Buffer.from(keyCheckOf(key, header.nonce), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(header.keyCheck, 'hex'))) throw new ModelKeyWrongError(path);
  const chunkCount = chunkCountOf(header.plaintextBytes, header.chunkBytes);
  const sealedBytes = prefix.length + header.plaintextBytes + chunkCount * TAG_BYTES;
  if (fileBytes < sealedBytes) throw new ModelTamperedError(path, `the file is cut short: ${fileBytes} bytes of ${sealedBytes}`, Math.floor(Math.max(0, fileBytes - prefix.length) / (header.chunkBytes + TAG_BYTES)));
  if (fileBytes > sealedBytes) throw new ModelTamperedError(path, `${fileBytes - sealedBytes} bytes were appended after the last chunk`, chunkCount);
  return { header, prefix, chunkCount, sealedBytes };
}

/** Where chunk `index` lies in the sealed file, and its plaintext length. */
export function chunkPlace(sealed: SealedPrefix, index: number): { offset: number; plainBytes: number } {
  const { chunkBytes, plaintextBytes } = sealed.header;
  return {
    offset: sealed.prefix.length + index * (chunkBytes + TAG_BYTES),
    plainBytes: Math.min(chunkBytes, plaintextBytes - index * chunkBytes),
  };
}

export function chunkNonce(sealed: SealedPrefix, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  Buffer.from(sealed.header.nonce, 'hex').copy(nonce, 0);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

export function chunkAad(sealed: SealedPrefix, index: number): Buffer {
  const tail = Buffer.alloc(5);
  tail.writeUInt32BE(index, 0);
  tail[4] = index === sealed.chunkCount - 1 ? 1 : 0;
  return Buffer.concat([sealed.prefix, tail]);
}
