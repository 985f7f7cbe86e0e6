import type { LlamaContext } from 'node-llama-cpp';
import { DecodeThreadTuner } from '../../core/decode-threads.js';

/**
 * llama.cpp takes one thread count for one-token steps and another for prompt batches
 * (`llama_set_n_threads(ctx, n_threads, n_threads_batch)`), but node-llama-cpp sets both to one
 * value before every batch, and creates ggml's worker threads afresh for every step (it attaches no
 * persistent thread pool). On a 2-vCPU VM that makes two threads decode at ~62 tok/s where one
 * decodes at ~80, while prompts still want both (~280 against ~145 tok/s prefill): see
 * docs/benchmarks.md, "Decode threads".
 *
 * So each batch gets its own count: a one-token step takes the tuner's, a wider batch the
 * context's. This wraps four methods of the context's native handle, an internal of node-llama-cpp
 * 3.21.1 (pinned in package.json); when the handle does not look as expected, nothing is changed
 * and both kinds of batch keep the context's count.
 */
interface NativeContext {
  initBatch(size: number): unknown;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): unknown;
  setThreads(threads: number): unknown;
  decodeBatch(): Promise<unknown>;
}

const WRAPPED = ['initBatch', 'addToBatch', 'setThreads', 'decodeBatch'] as const;

/** Gives one-token steps the tuner's thread count; false when this node-llama-cpp's context cannot be wrapped. */
export function controlDecodeThreads(context: LlamaContext, tuner: DecodeThreadTuner): boolean {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (!native || !WRAPPED.every((name) => typeof native[name] === 'function')) return false;
  const original = native as NativeContext;
  const initBatch = original.initBatch.bind(native);
  const addToBatch = original.addToBatch.bind(native);
  const setThreads = original.setThreads.bind(native);
  const decodeBatch = original.decodeBatch.bind(native);
  let batchTokens = 0;
  let stepThreads: number | undefined;

  const replacements: NativeContext = {
    initBatch(size) {
      batchTokens = 0;
      stepThreads = undefined;
      return initBatch(size);
    },
    addToBatch(sequenceId, firstTokenIndex, tokens, logitIndexes) {
      batchTokens += tokens.length;
      return addToBatch(sequenceId, firstTokenIndex, tokens, logitIndexes);
    },
    // `threads` is what node-llama-cpp's splitter gives this context now: a step never takes more.
    setThreads(threads) {
      stepThreads = batchTokens === 1 ? Math.min(tuner.next(), threads) : undefined;
      return setThreads(stepThreads ?? threads);
    },
    async decodeBatch() {
      const started = performance.now();
      const result = await decodeBatch();
      if (stepThreads !== undefined) tuner.record(stepThreads, performance.now() - started);
      return result;
    },
  };
  // The handle's methods live on its native prototype, read-only: own properties shadow them.
  for (const name of WRAPPED) Object.defineProperty(native, name, { value: replacements[name], configurable: true });
  return true;
}
