import { NotEnoughMemoryError } from './errors.js';

/**
 * What a loaded model costs in memory, as its engine reads it from the file's
 * header (each engine says how: adapters/llamacpp/memory-shape.ts,
 * adapters/executorch/memory-shape.ts). Figures are upper bounds, calibrated
 * against measured peak RSS (docs/benchmarks.md, "Memory budget").
 */
export interface MemoryShape {
  /** The weights, counted once (mapped and shared between sequences). */
  weightsBytes: number;
  /** What the runtime adds whatever the context: compute buffers, a host process. */
  fixedOverheadBytes: number;
  /** What each KV sequence adds apart from its tokens (an ExecuTorch Module's planned memory and packed weights). */
  perSequenceBytes: number;
  /** What each context token adds per sequence (llama.cpp's KV cache); 0 where the file fixes the context. */
  perTokenBytes: number;
  /** The context the file fixes (a .pte's max_seq_len), when it does. */
  fixedContext?: number;
}

export interface MemoryEstimate {
  weightsBytes: number;
  /** Per-sequence memory: the KV cache for the context, and what each sequence adds besides. */
  kvCacheBytes: number;
  /** The runtime's fixed overhead and the process's own memory before loading. */
  overheadBytes: number;
  totalBytes: number;
  contextSize: number;
  sequences: number;
}

export function estimateMemory(shape: MemoryShape, contextSize: number, sequences = 1, baselineBytes = 0): MemoryEstimate {
  const context = shape.fixedContext ?? contextSize;
  const kvCacheBytes = sequences * (shape.perSequenceBytes + context * shape.perTokenBytes);
  const overheadBytes = shape.fixedOverheadBytes + baselineBytes;
  return { weightsBytes: shape.weightsBytes, kvCacheBytes, overheadBytes, totalBytes: shape.weightsBytes + kvCacheBytes + overheadBytes, contextSize: context, sequences };
}

/** Throws before loading when the estimate does not fit in the memory available. */
export function assertFitsInMemory(estimate: MemoryEstimate, availableBytes: number, limit: 'available' | 'budget' = 'available'): void {
  if (estimate.totalBytes > availableBytes) {
    throw new NotEnoughMemoryError(estimate.totalBytes, availableBytes, {
      weightsBytes: estimate.weightsBytes,
      kvCacheBytes: estimate.kvCacheBytes,
      overheadBytes: estimate.overheadBytes,
      contextSize: estimate.contextSize,
      sequences: estimate.sequences,
    }, limit);
  }
}

/** What loading under a memory budget gives: the context and sequences that fit, and what was changed to fit. */
export interface MemoryFit {
  budgetBytes: number;
  contextSize: number;
  sequences: number;
  estimate: MemoryEstimate;
  /** Sentences saying what was shrunk, for warnings and /health; empty when the request fit. */
  changes: string[];
}

/** A context shrunk to fit is a multiple of this (llama.cpp pads to it anyway). */
const CONTEXT_STEP = 256;
/** llama.cpp rounds a smaller context up to this; nothing is shrunk below it. */
export const SMALLEST_CONTEXT = 256;
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

/**
 * Fits a load into `budgetBytes`: as asked when it fits; else the context is
 * shrunk (in steps of 256, down to `minContext`), then the sequences; when
 * even one sequence of the smallest context does not fit, NOT_ENOUGH_MEMORY
 * with the numbers.
 */
export function fitToBudget(shape: MemoryShape, request: { contextSize: number; sequences: number }, budgetBytes: number, baselineBytes: number, minContext: number): MemoryFit {
  const fits = (context: number, sequences: number) => estimateMemory(shape, context, sequences, baselineBytes).totalBytes <= budgetBytes;
  const result = (contextSize: number, sequences: number, changes: string[]): MemoryFit => ({ budgetBytes, contextSize: shape.fixedContext ?? contextSize, sequences, estimate: estimateMemory(shape, contextSize, sequences, baselineBytes), changes });
  const asked = estimateMemory(shape, request.contextSize, request.sequences, baselineBytes);
  if (asked.totalBytes <= budgetBytes) return result(request.contextSize, request.sequences, []);
  const why = `the load needs about ${mib(asked.totalBytes)} and the memory budget is ${mib(budgetBytes)}`;

  let context = request.contextSize;
  const changes: string[] = [];
  if (shape.fixedContext === undefined && shape.perTokenBytes > 0) {
    const room = budgetBytes - baselineBytes - shape.weightsBytes - shape.fixedOverheadBytes - request.sequences * shape.perSequenceBytes;
    const fitting = Math.floor(room / (request.sequences * shape.perTokenBytes) / CONTEXT_STEP) * CONTEXT_STEP;
    context = Math.max(minContext, Math.min(request.contextSize, fitting));
    if (context < request.contextSize) changes.push(`context shrunk from ${request.contextSize} to ${context} tokens: ${why}`);
    if (fits(context, request.sequences)) return result(context, request.sequences, changes);
  }
  for (let sequences = request.sequences - 1; sequences >= 1; sequences--) {
    if (fits(context, sequences)) return result(context, sequences, [...changes, `parallel sequences cut from ${request.sequences} to ${sequences}: ${why}`]);
  }
  assertFitsInMemory(estimateMemory(shape, context, 1, baselineBytes), budgetBytes, 'budget');
  return result(context, 1, changes);
}
