import type { ModelKeySource } from '../adapters/files/model-bytes.js';
import type { EngineEntry } from '../core/engine-registry.js';
import { budgetedEngine } from './budgeted-engine.js';
import { unsealingEngine } from './unsealing-engine.js';

/** The same entry, its engine able to load encrypted files and to fit a memory budget. */
export function withAppConcerns<Header>(entry: EngineEntry<Header>, key: ModelKeySource, onWarning: (message: string) => void): EngineEntry<Header> {
  return {
    id: entry.id,
    format: entry.format,
    fileKind: entry.fileKind,
    recognises: (head) => entry.recognises(head),
    ...(entry.memoryShape ? { memoryShape: (header: Header) => entry.memoryShape!(header) } : {}),
    readHeader: (file) => entry.readHeader(file),
    targets: (header) => entry.targets(header),
    engine: unsealingEngine(budgetedEngine(entry, onWarning), key),
  };
}
