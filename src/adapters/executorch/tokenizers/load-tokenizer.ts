import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidOptionError, ModelCorruptError, ModelIncompleteError } from '../../../core/errors.js';
import { readFileHead } from '../../files/file-checks.js';
import { loadHuggingFaceTokenizer } from './huggingface.js';
import { loadLlama2cTokenizer } from './llama2c.js';
import { loadSentencePieceTokenizer } from './sentencepiece.js';
import { tokenizerFormat, type TextTokenizer } from './text-tokenizer.js';
import { loadTiktokenTokenizer } from './tiktoken.js';
import { readTokenizerBytes, readTokenizerText } from './tokenizer-file.js';

/** The names a .pte's tokenizer goes by beside it: ours and Hugging Face's, then ExecuTorch's examples' (tiktoken or SentencePiece, llama2.c). */
const TOKENIZER_NAMES = ['tokenizer.json', 'tokenizer.model', 'tokenizer.bin'];

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function firstTokenizerIn(dir: string): Promise<string | undefined> {
  for (const name of TOKENIZER_NAMES) if (await isFile(join(dir, name))) return join(dir, name);
  return undefined;
}

/** `--tokenizer`: a tokenizer file, or a folder holding one under a usual name. */
async function givenTokenizerFile(given: string): Promise<string> {
  const info = await stat(given).catch((error: Error) => {
    throw new InvalidOptionError('--tokenizer', `${given} cannot be read: ${error.message}`);
  });
  if (!info.isDirectory()) return given;
  const found = await firstTokenizerIn(given);
  if (!found) throw new InvalidOptionError('--tokenizer', `the folder ${given} holds none of ${TOKENIZER_NAMES.join(', ')}`);
  return found;
}

/** The file, in the format its content says (as ExecuTorch's runner decides). */
async function loadTokenizerFile(path: string): Promise<TextTokenizer> {
  let head: Buffer;
  try {
    head = (await readFileHead(path, 256)).head;
  } catch (error) {
    throw new ModelCorruptError(path, (error as Error).message);
  }
  if (head.length === 0) throw new ModelCorruptError(path, 'it is empty');
  switch (tokenizerFormat(head)) {
    case 'huggingface':
      return loadHuggingFaceTokenizer(path, (await readTokenizerText(path))!);
    case 'tiktoken':
      return loadTiktokenTokenizer(path, (await readTokenizerText(path))!);
    case 'sentencepiece':
      return loadSentencePieceTokenizer(path, await readTokenizerBytes(path));
    case 'llama2c':
      return loadLlama2cTokenizer(path, await readTokenizerBytes(path));
  }
}

/**
 * The tokenizer of a .pte: `given` (--tokenizer), else the first of tokenizer.json,
 * tokenizer.model and tokenizer.bin beside it. Hugging Face, tiktoken, SentencePiece and
 * llama2.c files are read, told apart by content.
 */
export async function loadTokenizer(ptePath: string, given: string | undefined): Promise<TextTokenizer> {
  const path = given === undefined ? await firstTokenizerIn(dirname(ptePath)) : await givenTokenizerFile(given);
  if (path === undefined) throw new ModelIncompleteError(ptePath, `its tokenizer (${TOKENIZER_NAMES.join(', ')} or another file given with --tokenizer)`);
  return loadTokenizerFile(path);
}
