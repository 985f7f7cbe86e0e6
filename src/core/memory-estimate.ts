import { NotEnoughMemoryError } from './errors.js';

export interface ModelShape {
  weightsBytes: number;
  layers: number;
  /** Key/value width per token per layer: kv heads x head size. */
  kvWidth: number;
}

export interface MemoryEstimate {
  weightsBytes: number;
  kvCacheBytes: number;
  overheadBytes: number;
  totalBytes: number;
  contextSize: number;
}

/** Compute buffers and runtime: a floor plus a share of the weights. */
const OVERHEAD_FLOOR = 64 * 2 ** 20;
const OVERHEAD_SHARE = 0.1;
/** llama.cpp keeps K and V in f16 by default. */
const KV_BYTES_PER_VALUE = 2;

export function estimateMemory(shape: ModelShape, contextSize: number): MemoryEstimate {
  const kvCacheBytes = 2 * shape.layers * contextSize * shape.kvWidth * KV_BYTES_PER_VALUE;
  const overheadBytes = OVERHEAD_FLOOR + Math.round(shape.weightsBytes * OVERHEAD_SHARE);
  return {
    weightsBytes: shape.weightsBytes,
    kvCacheBytes,
    overheadBytes,
    totalBytes: shape.weightsBytes + kvCacheBytes + overheadBytes,
    contextSize,
  };
}

/** Throws before loading when the estimate does not fit in the memory available. */
export function assertFitsInMemory(estimate: MemoryEstimate, availableBytes: number): void {
  if (estimate.totalBytes > availableBytes) {
    throw new NotEnoughMemoryError(estimate.totalBytes, availableBytes, {
      weightsBytes: estimate.weightsBytes,
      kvCacheBytes: estimate.kvCacheBytes,
      overheadBytes: estimate.overheadBytes,
      contextSize: estimate.contextSize,
    });
  }
}
