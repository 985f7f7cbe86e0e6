import type { EngineEntry } from '../../core/engine-registry.js';
import { looksLikePte, readPteFrom, type PteSummary } from '../pte/reader.js';
import { ExecuTorchEngine, type ExecuTorchEngineOptions } from './engine.js';
import { pteTarget } from './targets.js';
import { pteMemoryShape } from './memory-shape.js';

/** ExecuTorch in the engine registry: .pte programs, on the delegates they hold. */
export function executorchEntry(options: ExecuTorchEngineOptions = {}): EngineEntry<PteSummary> {
  return {
    id: 'executorch',
    format: 'pte',
    fileKind: 'an ExecuTorch .pte program',
    recognises: looksLikePte,
    readHeader: readPteFrom,
    targets: (pte) => [pteTarget(pte)],
    memoryShape: pteMemoryShape,
    engine: new ExecuTorchEngine(options),
  };
}
