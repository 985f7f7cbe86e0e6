import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { SentencePieceProcessor } from '@sctg/sentencepiece-js';
import { ModelCorruptError } from '../../../core/errors.js';
import { encodeWithSpecials, type TextTokenizer } from './text-tokenizer.js';

/** sentencepiece_model.proto: ModelProto.pieces, SentencePiece.{piece, type}, TrainerSpec.{bos_id, eos_id}. */
const MODEL_PIECES = 1;
const MODEL_TRAINER_SPEC = 2;
const MODEL_NORMALIZER_SPEC = 3;
const PIECE_TEXT = 1;
const PIECE_TYPE = 3;
const PIECE_TYPE_CONTROL = 3;
const TRAINER_BOS_ID = 41;
const TRAINER_EOS_ID = 42;

interface ModelPieces {
  pieces: string[];
  controls: Set<number>;
  bosId: number;
  eosId: number;
}

/**
 * The pieces and control ids of a SentencePiece model, read from its protobuf (the processor
 * does not list them). A protobuf cut between two fields still parses, so the specs that
 * every trainer writes after the pieces are required: a truncated file lacks them.
 */
function readPieces(bytes: Uint8Array): ModelPieces {
  const model = new BinaryReader(bytes);
  const found: ModelPieces = { pieces: [], controls: new Set(), bosId: 1, eosId: 2 };
  const seen = new Set<number>();
  while (model.pos < model.len) {
    const [field, wire] = model.tag();
    seen.add(field);
    if (field === MODEL_PIECES && wire === WireType.LengthDelimited) {
      const piece = new BinaryReader(model.bytes());
      let text = '';
      let type = 1;
      while (piece.pos < piece.len) {
        const [f, w] = piece.tag();
        if (f === PIECE_TEXT && w === WireType.LengthDelimited) text = piece.string();
        else if (f === PIECE_TYPE && w === WireType.Varint) type = piece.int32();
        else piece.skip(w);
      }
      if (type === PIECE_TYPE_CONTROL) found.controls.add(found.pieces.length);
      found.pieces.push(text);
    } else if (field === MODEL_TRAINER_SPEC && wire === WireType.LengthDelimited) {
      const spec = new BinaryReader(model.bytes());
      while (spec.pos < spec.len) {
        const [f, w] = spec.tag();
        if (f === TRAINER_BOS_ID && w === WireType.Varint) found.bosId = spec.int32();
        else if (f === TRAINER_EOS_ID && w === WireType.Varint) found.eosId = spec.int32();
        else spec.skip(w);
      }
    } else model.skip(wire);
  }
  if (!seen.has(MODEL_TRAINER_SPEC) || !seen.has(MODEL_NORMALIZER_SPEC)) throw new Error('it ends before its trainer and normalizer specs (truncated)');
  return found;
}

/**
 * A SentencePiece `tokenizer.model` (Llama 2, Mistral, Gemma): encoded by Google's own
 * sentencepiece library compiled to WebAssembly, as ExecuTorch's runner uses the C++ one.
 * Control pieces (`<s>`, `</s>`) written in text become their ids, which sentencepiece itself
 * never does, so chat templates that spell them work.
 */
export async function loadSentencePieceTokenizer(path: string, bytes: Buffer): Promise<TextTokenizer> {
  let model: ModelPieces;
  const processor = new SentencePieceProcessor();
  try {
    model = readPieces(bytes);
    if (model.pieces.length === 0) throw new Error('it has no pieces');
    await processor.loadFromB64StringModel(bytes.toString('base64'));
  } catch (error) {
    throw new ModelCorruptError(path, `it is not a SentencePiece model: ${(error as Error).message}`);
  }
  const controlIds = new Map([...model.controls].filter((id) => model.pieces[id]!.length > 1).map((id) => [model.pieces[id]!, id]));
  const encodeText = (text: string): number[] => (text === '' ? [] : processor.encodeIds(text));
  return {
    format: 'sentencepiece',
    path,
    size: model.pieces.length,
    specialTokens: [...controlIds.keys()],
    encode: (text) => encodeWithSpecials(text, controlIds, encodeText),
    decode: (ids) => String(processor.decodeIds(Int32Array.from(ids))),
    tokenText: (id) => model.pieces[id],
  };
}
