import { ModelCorruptError } from '../../../core/errors.js';
import { encodeWithSpecials, type TextTokenizer } from './text-tokenizer.js';

/** Bytes without a piece of their own are encoded as tokens 3..258 (<0x00>..<0xFF> after <unk>, <s>, </s>). */
const BYTE_TOKEN_OFFSET = 3;
const HEADER_BYTES = 16;

interface Vocabulary {
  pieces: Buffer[];
  scores: Float32Array;
  bosId: number;
  eosId: number;
}

/**
 * ExecuTorch's llama2.c `tokenizer.bin`: uint32 vocabulary size, BOS id, EOS id and longest
 * token length, then per token a float32 score, a uint32 length and the token's bytes.
 */
function readVocabulary(path: string, bytes: Buffer): Vocabulary {
  const fail = (why: string): never => {
    throw new ModelCorruptError(path, `it is not a llama2.c tokenizer.bin: ${why}`);
  };
  if (bytes.length < HEADER_BYTES) fail(`it is ${bytes.length} bytes, shorter than the header`);
  const size = bytes.readUInt32LE(0);
  const bosId = bytes.readUInt32LE(4);
  const eosId = bytes.readUInt32LE(8);
  const maxLength = bytes.readUInt32LE(12);
  // Each entry takes at least 8 bytes, which bounds a corrupt size before anything is allocated.
  if (size === 0 || size > (bytes.length - HEADER_BYTES) / 8) fail(`its header claims ${size} tokens`);
  if (bosId >= size || eosId >= size) fail(`its BOS ${bosId} or EOS ${eosId} is not a token`);
  const pieces: Buffer[] = [];
  const scores = new Float32Array(size);
  let at = HEADER_BYTES;
  for (let id = 0; id < size; id++) {
    if (at + 8 > bytes.length) fail(`it ends at token ${id} of ${size}`);
    scores[id] = bytes.readFloatLE(at);
    const length = bytes.readUInt32LE(at + 4);
    if (length > maxLength || at + 8 + length > bytes.length) fail(`token ${id} claims ${length} bytes`);
    pieces.push(bytes.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return { pieces, scores, bosId, eosId };
}

/**
 * A llama2.c tokenizer, encoding as its runner does: a leading space, each UTF-8 character
 * looked up whole (unknown ones fall back to byte tokens), then the best-scoring adjacent pair
 * merged until none is in the vocabulary.
 */
export function loadLlama2cTokenizer(path: string, bytes: Buffer): TextTokenizer {
  const vocab = readVocabulary(path, bytes);
  // Pieces as latin1 strings (one char per byte): lookups and the merge loop's pair keys need no buffers.
  const keys = vocab.pieces.map((piece) => piece.toString('latin1'));
  const ids = new Map<string, number>();
  keys.forEach((key, id) => {
    if (!ids.has(key)) ids.set(key, id);
  });
  const lookup = (piece: Buffer): number | undefined => ids.get(piece.toString('latin1'));
  const space = ids.get(' ');
  const specials = new Map([vocab.bosId, vocab.eosId].map((id) => [vocab.pieces[id]!.toString('utf8'), id] as const).filter(([text]) => /^<.+>$/.test(text)));

  function encodeText(text: string): number[] {
    if (text === '') return [];
    const tokens: number[] = [];
    if (space !== undefined) tokens.push(space);
    const utf8 = Buffer.from(text, 'utf8');
    let start = 0;
    for (let i = 0; i < utf8.length; i++) {
      const continues = i + 1 < utf8.length && (utf8[i + 1]! & 0xc0) === 0x80 && i + 1 - start < 4;
      if (continues) continue;
      const character = utf8.subarray(start, i + 1);
      const id = lookup(character);
      if (id !== undefined) tokens.push(id);
      else for (const byte of character) tokens.push(byte + BYTE_TOKEN_OFFSET);
      start = i + 1;
    }
    for (;;) {
      let best = -1;
      let bestId = -1;
      let bestScore = -1e10;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = ids.get(keys[tokens[i]!]! + keys[tokens[i + 1]!]!);
        if (id !== undefined && vocab.scores[id]! > bestScore) {
          bestScore = vocab.scores[id]!;
          bestId = id;
          best = i;
        }
      }
      if (best < 0) return tokens;
      tokens.splice(best, 2, bestId);
    }
  }

  return {
    format: 'llama2c',
    path,
    size: vocab.pieces.length,
    specialTokens: [...specials.keys()],
    encode: (text) => encodeWithSpecials(text, specials, encodeText),
    decode(tokens) {
      const parts = tokens.map((id, i) => {
        let piece = vocab.pieces[id] ?? Buffer.alloc(0);
        // The runner drops the leading space of the first word after BOS.
        if (i > 0 && tokens[i - 1] === vocab.bosId && piece[0] === 0x20) piece = piece.subarray(1);
        const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece.toString('latin1'));
        return byte ? Buffer.from([parseInt(byte[1]!, 16)]) : piece;
      });
      return Buffer.concat(parts).toString('utf8');
    },
    tokenText: (id) => vocab.pieces[id]?.toString('utf8'),
  };
}
