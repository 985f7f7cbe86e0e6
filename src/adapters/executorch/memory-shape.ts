import type { MemoryShape } from '../../core/memory-estimate.js';
import type { PteSummary } from '../pte/reader.js';

/** The host process (Node with the addon), beside the app's own process. */
const HOST_PROCESS_BYTES = 64 * 2 ** 20;

/**
 * What a .pte costs on the native runtime: the mapped file once, the host
 * process, and per sequence one Module: its planned memory (the KV cache the
 * export fixed) and, for a delegated program, the delegate's own copy of its
 * weights (XNNPACK packs them at init): measured +112 MiB a sequence for the
 * 8da4w program (34 MiB planned, 76 MiB of delegate data).
 */
export function pteMemoryShape(pte: PteSummary): MemoryShape {
  const forward = pte.methods.find((m) => m.name === 'forward') ?? pte.methods[0];
  const packedWeights = pte.backends.length > 0 ? pte.fileSize - pte.constantBytes : 0;
  return {
    weightsBytes: pte.fileSize,
    fixedOverheadBytes: HOST_PROCESS_BYTES,
    perSequenceBytes: (forward?.plannedMemoryBytes ?? 0) + packedWeights,
    perTokenBytes: 0,
    fixedContext: pte.llm.maxSeqLen ?? undefined,
  };
}
