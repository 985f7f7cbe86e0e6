import { AUTO_ORDER } from '../../core/backend-policy.js';
import type { EngineEntry } from '../../core/engine-registry.js';
import { isGgufHead, readGgufFrom, type GgufSummary } from '../gguf/reader.js';
import { LlamaCppEngine, type LlamaCppEngineOptions } from './engine.js';
import { ggufMemoryShape } from './memory-shape.js';

/** llama.cpp in the engine registry: GGUF models, on any of its backends. */
export function llamaCppEntry(options: LlamaCppEngineOptions): EngineEntry<GgufSummary> {
  return {
    id: 'llamacpp',
    format: 'gguf',
    fileKind: 'a GGUF model',
    recognises: isGgufHead,
    readHeader: readGgufFrom,
    targets: () => AUTO_ORDER.map((backend) => ({ engine: 'llamacpp', backend, needs: [backend] })),
    memoryShape: ggufMemoryShape,
    engine: new LlamaCppEngine(options),
  };
}
