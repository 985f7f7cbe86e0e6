import { Tiktoken } from 'js-tiktoken/lite';
import { ModelCorruptError } from '../../../core/errors.js';
import type { TextTokenizer } from './text-tokenizer.js';

/**
 * The special tokens ExecuTorch's runner gives a tiktoken file when it is loaded alone:
 * Llama 3's, 256 of them, numbered after the file's ranks.
 */
function llama3SpecialTokens(): string[] {
  const named = ['<|begin_of_text|>', '<|end_of_text|>', '<|reserved_special_token_0|>', '<|reserved_special_token_1|>', '<|finetune_right_pad_id|>', '<|step_id|>', '<|start_header_id|>', '<|end_header_id|>', '<|eom_id|>', '<|eot_id|>', '<|python_tag|>'];
  for (let n = 2; named.length < 256; n++) named.push(`<|reserved_special_token_${n}|>`);
  return named;
}

/**
 * The runner's split pattern (Llama 3's, without the `\s+(?!\S)` lookahead RE2 cannot run),
 * written for JavaScript with RE2's meaning kept: `\s` is ASCII whitespace only, and the
 * case-insensitive contractions fold `s` with `ſ` as RE2's Unicode folding does.
 */
const RE2_LLAMA3_PATTERN = [
  "'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])",
  '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
  '\\p{N}{1,3}',
  ' ?[^\\t\\n\\f\\r \\p{L}\\p{N}]+[\\r\\n]*',
  '[\\t\\n\\f\\r ]*[\\r\\n]+',
  '[\\t\\n\\f\\r ]+',
].join('|');

/**
 * A tiktoken file (`tokenizer.model` of Llama 3): one `base64-bytes rank` line per token.
 * Encoding is js-tiktoken's byte-pair merge, the algorithm of OpenAI's tiktoken that
 * ExecuTorch's tokenizer follows.
 */
export function loadTiktokenTokenizer(path: string, text: string): TextTokenizer {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const ranks: string[] = [];
  const pieces: Buffer[] = [];
  for (const [index, line] of lines.entries()) {
    const match = /^([A-Za-z0-9+/]+=*) (\d+)\r?$/.exec(line);
    if (!match) throw new ModelCorruptError(path, `line ${index + 1} is not "<base64 token> <rank>"`);
    const rank = Number(match[2]);
    // js-tiktoken reads "<any> <first rank> <token>..." lines.
    ranks.push(`! ${rank} ${match[1]}`);
    pieces[rank] = Buffer.from(match[1]!, 'base64');
  }
  const singleBytes = new Set(pieces.filter((piece) => piece?.length === 1).map((piece) => piece[0]));
  for (let byte = 0; byte < 256; byte++) {
    if (!singleBytes.has(byte)) throw new ModelCorruptError(path, `it has no token for the byte 0x${byte.toString(16).padStart(2, '0')}, which every tiktoken file has; it is incomplete or not a tiktoken file`);
  }
  const specials = llama3SpecialTokens();
  const specialIds = Object.fromEntries(specials.map((token, i) => [token, lines.length + i]));
  const tiktoken = new Tiktoken({ pat_str: RE2_LLAMA3_PATTERN, special_tokens: specialIds, bpe_ranks: ranks.join('\n') });
  return {
    format: 'tiktoken',
    path,
    size: lines.length + specials.length,
    specialTokens: specials,
    encode: (input) => tiktoken.encode(input, 'all'),
    decode: (ids) => tiktoken.decode([...ids]),
    tokenText: (id) => (id >= lines.length ? specials[id - lines.length] : pieces[id]?.toString('utf8')),
  };
}
