/** The tokenizer file formats ExecuTorch's runner reads. */
export type TokenizerFormat = 'huggingface' | 'tiktoken' | 'sentencepiece' | 'llama2c';

/**
 * A .pte's tokenizer, whatever its file format: what the ExecuTorch engine needs to turn
 * text into token ids and back, synchronously.
 */
export interface TextTokenizer {
  readonly format: TokenizerFormat;
  /** The file read. */
  readonly path: string;
  /** The strings that encode to one control token each (`<|eot_id|>`, `<s>`...). */
  readonly specialTokens: readonly string[];
  readonly chatTemplate?: string;
  /** How many ids it can produce: a model with fewer embedding rows cannot use it. */
  readonly size: number;
  /** Ids of `text`, with no BOS or EOS added; special-token strings in it become their ids. */
  encode(text: string): number[];
  /** Text of `ids`, special tokens included where the format spells them. */
  decode(ids: readonly number[]): string;
  /** The vocabulary entry of one id (a BOS or EOS token's name), undefined out of range. */
  tokenText(id: number): string | undefined;
}

/** Tells the formats apart by content, as ExecuTorch's runner does (it tries each loader in turn). */
export function tokenizerFormat(head: Buffer): TokenizerFormat {
  const text = head.toString('latin1');
  if (text.trimStart().startsWith('{')) return 'huggingface';
  if (/^[A-Za-z0-9+/]+=* \d+\r?\n/.test(text)) return 'tiktoken';
  if (head[0] === 0x0a) return 'sentencepiece'; // a protobuf whose first field is the pieces
  return 'llama2c';
}

/**
 * Encodes `text` with `encodeText`, each of the `specials` spelled in it becoming its id: for
 * formats whose own encoder never matches control tokens in text (SentencePiece, llama2.c).
 */
export function encodeWithSpecials(text: string, specials: ReadonlyMap<string, number>, encodeText: (part: string) => number[]): number[] {
  if (specials.size === 0) return encodeText(text);
  const pattern = alternation([...specials.keys()]);
  const ids: number[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    ids.push(...encodeText(text.slice(last, match.index)), specials.get(match[0])!);
    last = match.index + match[0].length;
  }
  ids.push(...encodeText(text.slice(last)));
  return ids;
}

/** A global pattern matching any of `texts` literally. */
export function alternation(texts: readonly string[]): RegExp {
  return new RegExp(texts.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}
