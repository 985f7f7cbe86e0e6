import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidOptionError, ModelCorruptError, ModelIncompleteError } from '../../core/errors.js';
import { readFileHead, readTextAtMost } from '../files/file-checks.js';

/** A tokenizer.json for a 256k vocabulary is about 20 MiB; far larger is not one. */
const MAX_TOKENIZER_BYTES = 256 * 2 ** 20;

/** A tokenizer file's text, or undefined when it does not exist; a directory or an oversized file is corrupt. */
async function readTokenizerFile(path: string): Promise<string | undefined> {
  try {
    return await readTextAtMost(path, MAX_TOKENIZER_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelCorruptError(path, (error as Error).message);
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelCorruptError(path, `it is not valid JSON: ${(error as Error).message}`);
  }
}

export interface LoadedTokenizer {
  tokenizer: Tokenizer;
  /** The tokenizer.json read. */
  path: string;
  chatTemplate?: string;
  specialTokens: string[];
}

/**
 * The tokenizer formats ExecuTorch's runner reads, told apart by content as it does. Only the
 * Hugging Face one is read here so far; the others are named in the error.
 */
function tokenizerFormat(head: Buffer): 'huggingface' | 'tiktoken' | 'sentencepiece' | 'llama2c' {
  const text = head.toString('latin1');
  if (text.trimStart().startsWith('{')) return 'huggingface';
  if (/^[A-Za-z0-9+/]+=* \d+\r?\n/.test(text)) return 'tiktoken';
  if (head[0] === 0x0a) return 'sentencepiece'; // a protobuf whose first field is the pieces
  return 'llama2c';
}

/** `--tokenizer`: a file, or a folder holding tokenizer.json; in a supported format. */
async function givenTokenizerFile(given: string): Promise<string> {
  let path = given;
  if ((await stat(given).catch(() => undefined))?.isDirectory()) path = join(given, 'tokenizer.json');
  let head: Buffer;
  try {
    head = (await readFileHead(path, 256)).head;
  } catch (error) {
    throw new InvalidOptionError('--tokenizer', `${path} cannot be read: ${(error as Error).message}`);
  }
  const format = tokenizerFormat(head);
  if (format !== 'huggingface') throw new InvalidOptionError('--tokenizer', `${path} is a ${format} tokenizer; this version reads Hugging Face tokenizer.json files (with tokenizer_config.json beside them) only`);
  return path;
}

/** The tokenizer of a .pte: `given` (--tokenizer), else tokenizer.json beside it, with its config and chat template. */
export async function loadTokenizer(ptePath: string, given: string | undefined): Promise<LoadedTokenizer> {
  const tokenizerPath = given === undefined ? join(dirname(ptePath), 'tokenizer.json') : await givenTokenizerFile(given);
  const dir = dirname(tokenizerPath);
  const json = await readTokenizerFile(tokenizerPath);
  if (json === undefined) throw new ModelIncompleteError(ptePath, 'tokenizer.json');
  const configPath = join(dir, 'tokenizer_config.json');
  const config = parseJson(configPath, (await readTokenizerFile(configPath)) ?? '{}') as Record<string, unknown>;
  const template = typeof config.chat_template === 'string' ? config.chat_template : await readTokenizerFile(join(dir, 'chat_template.jinja'));
  const parsed = parseJson(tokenizerPath, json) as { added_tokens?: Array<{ content: string; special: boolean }> };
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(parsed, config);
  } catch (error) {
    throw new ModelCorruptError(tokenizerPath, `the tokenizer does not load: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed.added_tokens ?? [])) throw new ModelCorruptError(tokenizerPath, 'added_tokens is not a list');
  return {
    tokenizer,
    path: tokenizerPath,
    ...(template ? { chatTemplate: template } : {}),
    specialTokens: (parsed.added_tokens ?? []).filter((t) => t.special).map((t) => t.content),
  };
}
