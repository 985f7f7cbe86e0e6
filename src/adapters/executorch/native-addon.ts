import { createRequire } from 'node:module';

/** What onboard's addon (native/executorch/src/addon.cc) exports. */
export interface NativeAddon {
  /** The delegates this runtime has, by the runtime's own names (XnnpackBackend, ...). */
  backends(): string[];
  Program: new (path: string, sequences: number) => NativeProgram;
  /** The runtime thread pool's size (XNNPACK's and onboard's kernels share it). */
  threads(): number;
  /** The index of a row's largest value, the first of equals (the core's argmax, vectorized). */
  argmax(row: Float32Array): number;
  /** How many of the pool's threads the next forwards use (1 to threads()); returns the count in effect. */
  setThreads(threads: number): number;
  /** The fused LLM kernels called directly on given tensors, for the kernel test (kernel_check.cc). */
  kernelsForTest: {
    customSdpa(q: Float32Array, qShape: number[], k: Float32Array, kShape: number[], v: Float32Array, vShape: number[], startPos: number, isCausal: boolean, out: Float32Array): void;
    updateCache(value: Float32Array, valueShape: number[], cache: Float32Array, cacheShape: number[], startPos: number): void;
  };
}

/** A loaded .pte: one KV cache per sequence. */
export interface NativeProgram {
  methodNames(): string[];
  /** A metadata method's value (get_max_seq_len, get_eos_ids, ...), or undefined when it has inputs or fails. */
  constant(name: string): unknown;
  forwardInputs(): Array<{ dtype?: number; sizes?: number[] }>;
  /** The logits after the last token, written into `out` when it has the vocabulary's length. */
  forward(sequence: number, tokens: Int32Array, startPos: number, out?: Float32Array): Float32Array;
}

export function loadNativeAddon(path: string): NativeAddon {
  return createRequire(import.meta.url)(path) as NativeAddon;
}
