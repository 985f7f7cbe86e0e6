import { readFile, stat } from 'node:fs/promises';
import { ModelCorruptError } from '../../../core/errors.js';
import { readTextAtMost } from '../../files/file-checks.js';

/** A tokenizer.json for a 256k vocabulary is about 20 MiB; far larger is not one. */
export const MAX_TOKENIZER_BYTES = 256 * 2 ** 20;

/** A tokenizer file's text, or undefined when it does not exist; a directory or an oversized file is corrupt. */
export async function readTokenizerText(path: string): Promise<string | undefined> {
  try {
    return await readTextAtMost(path, MAX_TOKENIZER_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelCorruptError(path, (error as Error).message);
  }
}

/** A binary tokenizer file (SentencePiece, llama2.c), bounded like the text ones. */
export async function readTokenizerBytes(path: string): Promise<Buffer> {
  try {
    const { size } = await stat(path);
    if (size > MAX_TOKENIZER_BYTES) throw new Error(`it is ${size} bytes, more than a tokenizer's ${MAX_TOKENIZER_BYTES}`);
    return await readFile(path);
  } catch (error) {
    throw new ModelCorruptError(path, (error as Error).message);
  }
}

export function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelCorruptError(path, `it is not valid JSON: ${(error as Error).message}`);
  }
}
