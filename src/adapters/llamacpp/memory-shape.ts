import type { MemoryShape } from '../../core/memory-estimate.js';
import type { GgufSummary } from '../gguf/reader.js';

/** Compute buffers and runtime: a floor plus a share of the weights (measured: docs/benchmarks.md, "Memory budget"). */
const OVERHEAD_FLOOR = 64 * 2 ** 20;
const OVERHEAD_SHARE = 0.1;
/** llama.cpp keeps K and V in f16 by default. */
const KV_BYTES_PER_VALUE = 2;
/** The logits buffer holds a float per vocabulary entry for each token of a batch (512 at most). */
const BATCH_TOKENS = 512;

/** What a GGUF costs loaded by llama.cpp: weights, K and V per token and layer, and compute buffers. */
export function ggufMemoryShape(gguf: GgufSummary): MemoryShape {
  return {
    weightsBytes: gguf.fileSize,
    fixedOverheadBytes: OVERHEAD_FLOOR + Math.round(gguf.fileSize * OVERHEAD_SHARE) + BATCH_TOKENS * gguf.vocabularySize * 4,
    perSequenceBytes: 0,
    perTokenBytes: 2 * gguf.layers * gguf.kvWidth * KV_BYTES_PER_VALUE,
  };
}
