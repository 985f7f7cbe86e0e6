import type { ModelFileBytes } from '../../core/engine-registry.js';
import { readBuffer } from '../files/model-bytes.js';
import { ModelCorruptError, NotAModelFileError } from '../../core/errors.js';

/**
 * Walks a GGUF header before node-llama-cpp parses it, checking every count
 * and length against the bytes the file still holds. The library trusts those
 * fields: a header that claims 2^60 tensors or a 2^40-byte string makes it
 * loop or allocate without end. Here each field consumes at least one byte of
 * the file, so the walk ends in time and memory bounded by the file's size.
 */

/** GGUF value types (gguf.md): the fixed sizes of the scalar ones. */
const SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
const SUPPORTED_VERSIONS = [2, 3];
/** llama.cpp's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** Longer keys or tensor names than this are not written by any tool; refusing them bounds memory. */
const MAX_NAME_BYTES = 65_536;
const MAX_ARRAY_DEPTH = 4;
/** Far above any real tensor, far below where sizes stop being exact JavaScript numbers. */
const MAX_DIMENSION = 2n ** 40n;

export interface GgufHeaderFacts {
  version: number;
  tensorCount: number;
  kvCount: number;
  /** Bytes from the start of the file to the end of the tensor infos. */
  headerBytes: number;
}

class Reader {
  private buffer: Buffer = Buffer.alloc(0);
  private bufferStart = 0;
  offset = 0;

  readonly size: number;

  constructor(private readonly bytes: ModelFileBytes) {
    this.size = bytes.size;
  }

  fail(reason: string): never {
    throw new ModelCorruptError(this.bytes.path, `its header is damaged at byte ${this.offset}: ${reason}`);
  }

  /** Makes sure `length` bytes from the current offset are in memory (or fails: they are past the end). */
  private async need(length: number): Promise<void> {
    if (length > this.size - this.offset) this.fail(`needs ${length} more bytes but the file ends ${this.size - this.offset} bytes later`);
    const end = this.offset + length;
    if (this.offset >= this.bufferStart && end <= this.bufferStart + this.buffer.length) return;
    const chunk = Math.min(Math.max(length, 1 << 20), this.size - this.offset);
    this.buffer = await readBuffer(this.bytes, this.offset, chunk);
    if (this.buffer.length < length) this.fail('the file changed while it was read');
    this.bufferStart = this.offset;
  }

  async u32(): Promise<number> {
    await this.need(4);
    const value = this.buffer.readUInt32LE(this.offset - this.bufferStart);
    this.offset += 4;
    return value;
  }

  async u64(what: string, max: bigint): Promise<number> {
    await this.need(8);
    const value = this.buffer.readBigUInt64LE(this.offset - this.bufferStart);
    this.offset += 8;
    if (value > max) this.fail(`${what} is ${value} (at most ${max})`);
    return Number(value);
  }

  /** A u64 count that must fit what the rest of the file can hold (so a lying count fails here, not in a loop). */
  async count(what: string, minBytesEach: number): Promise<number> {
    const value = await this.u64(what, 2n ** 62n);
    if (value * minBytesEach > this.size - this.offset) this.fail(`${what} is ${value}, more than the remaining ${this.size - this.offset} bytes can hold`);
    return value;
  }

  async skip(length: number): Promise<void> {
    if (length > this.size - this.offset) this.fail(`a value of ${length} bytes runs past the end of the file`);
    this.offset += length;
  }

  async string(what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<void> {
    const length = await this.count(`the length of ${what}`, 1);
    if (length > maxBytes) this.fail(`${what} is ${length} bytes long (at most ${maxBytes})`);
    await this.skip(length);
  }
}

async function skipValue(reader: Reader, type: number, depth: number): Promise<void> {
  const scalar = SCALAR_SIZES[type];
  if (scalar !== undefined) return reader.skip(scalar);
  if (type === STRING) return reader.string('a string value');
  if (type !== ARRAY) reader.fail(`unknown value type ${type}`);
  if (depth >= MAX_ARRAY_DEPTH) reader.fail(`arrays nested more than ${MAX_ARRAY_DEPTH} deep`);
  const elementType = await reader.u32();
  const elementScalar = SCALAR_SIZES[elementType];
  // Strings take at least their 8-byte length; arrays their 12-byte type and count.
  const minBytes = elementScalar ?? (elementType === STRING ? 8 : elementType === ARRAY ? 12 : 1);
  const length = await reader.count('an array length', minBytes);
  if (elementScalar !== undefined) return reader.skip(length * elementScalar);
  for (let i = 0; i < length; i++) await skipValue(reader, elementType, depth + 1);
}

/** Checks the header of a file that starts with "GGUF"; throws a typed error for anything that does not add up. */
export async function checkGgufHeader(file: ModelFileBytes): Promise<GgufHeaderFacts> {
  const reader = new Reader(file);
  await reader.u32(); // the magic, checked by the caller
  const version = await reader.u32();
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new NotAModelFileError(file.path, `GGUF format version ${version}`, `a GGUF file of version ${SUPPORTED_VERSIONS.join(' or ')} (convert it again with a current llama.cpp)`);
  }
  // A tensor info is at least a name length (8), dims count (4), one dim (8), type (4), offset (8).
  const tensorCount = await reader.count('the tensor count', 32);
  // A key-value pair is at least a key length (8), one key byte, a type (4) and one value byte.
  const kvCount = await reader.count('the metadata count', 14);
  for (let i = 0; i < kvCount; i++) {
    await reader.string('a metadata key', MAX_NAME_BYTES);
    await skipValue(reader, await reader.u32(), 0);
  }
  for (let i = 0; i < tensorCount; i++) {
    await reader.string('a tensor name', MAX_NAME_BYTES);
    const dims = await reader.u32();
    if (dims < 1 || dims > MAX_DIMS) reader.fail(`a tensor has ${dims} dimensions (1 to ${MAX_DIMS})`);
    for (let d = 0; d < dims; d++) await reader.u64('a tensor dimension', MAX_DIMENSION);
    await reader.skip(4 + 8); // type and data offset, checked against the file by the reader's summary
  }
  return { version, tensorCount, kvCount, headerBytes: reader.offset };
}
