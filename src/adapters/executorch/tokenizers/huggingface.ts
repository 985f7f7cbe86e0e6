import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelCorruptError } from '../../../core/errors.js';
import type { TextTokenizer } from './text-tokenizer.js';
import { parseJson, readTokenizerText } from './tokenizer-file.js';

/** A Hugging Face tokenizer.json, with tokenizer_config.json (and its chat template) beside it. */
export async function loadHuggingFaceTokenizer(path: string, json: string): Promise<TextTokenizer> {
  const dir = dirname(path);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = parseJson(configPath, (await readTokenizerText(configPath)) ?? '{}') as Record<string, unknown>;
  const template = typeof config.chat_template === 'string' ? config.chat_template : await readTokenizerText(join(dir, 'chat_template.jinja'));
  const parsed = parseJson(path, json) as { model?: { vocab?: object }; added_tokens?: Array<{ id: number; content: string; special: boolean }> };
  if (!Array.isArray(parsed.added_tokens ?? [])) throw new ModelCorruptError(path, 'added_tokens is not a list');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(parsed, config);
  } catch (error) {
    throw new ModelCorruptError(path, `the tokenizer does not load: ${(error as Error).message}`);
  }
  return {
    format: 'huggingface',
    path,
    size: Math.max(Object.keys(parsed.model?.vocab ?? {}).length, ...(parsed.added_tokens ?? []).map((t) => t.id + 1)),
    specialTokens: (parsed.added_tokens ?? []).filter((t) => t.special).map((t) => t.content),
    ...(template ? { chatTemplate: template } : {}),
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode([...ids], { skip_special_tokens: false })),
    tokenText: (id) => tokenizer.id_to_token(id) ?? undefined,
  };
}
