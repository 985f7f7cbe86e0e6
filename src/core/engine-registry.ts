import type { ArtifactTarget } from './artifact-plan.js';
import type { Engine } from './engine.js';
import type { MemoryShape } from './memory-estimate.js';

/** A model file held open by the app's one opener: its path, its size, and reads at an offset. */
export interface ModelFileBytes {
  readonly path: string;
  readonly size: number;
  /** The file is encrypted at rest: reads give its plaintext, but whatever opens `path` itself gets ciphertext. */
  readonly encrypted?: boolean;
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * One engine, as the rest of the app sees it: how it recognises a file, what
 * it reads from it, what it can target, and how it loads. The composition
 * root lists the entries; nothing else names an engine. Adding an engine is a
 * new adapter and one entry (test/engine-registry.test.ts shows it).
 */
export interface EngineEntry<Header = unknown> {
  /** The id used by --engine, artifact targets and plans, e.g. `llamacpp`. */
  readonly id: string;
  /** What its files are, for messages, e.g. "a GGUF model". */
  readonly fileKind: string;
  /** The file format's short name, e.g. `gguf`. */
  readonly format: string;
  /** Whether a file whose first bytes are `head` (64 or fewer) is one of its files. Never the file name. */
  recognises(head: Uint8Array): boolean;
  /** Reads and checks the file's header from the opened file (typed errors for damaged files); once per file. */
  readHeader(file: ModelFileBytes): Promise<Header>;
  /** What loading this file costs in memory, from its header, for memory budgets (docs/vehicle.md). */
  memoryShape?(header: Header): MemoryShape;
  /** The ways it can run this file, from its header (a delegate in a program; any backend for a GGUF). */
  targets(header: Header): ArtifactTarget[];
  readonly engine: Engine<Header>;
}

/** The engines of one app, by id, in the order they were listed. */
export class EngineRegistry {
  private readonly byId = new Map<string, EngineEntry>();

  constructor(entries: readonly EngineEntry[]) {
    for (const entry of entries) {
      if (this.byId.has(entry.id)) throw new Error(`two engines with the id ${entry.id}`);
      this.byId.set(entry.id, entry);
    }
  }

  get ids(): string[] {
    return [...this.byId.keys()];
  }

  get entries(): EngineEntry[] {
    return [...this.byId.values()];
  }

  get(id: string): EngineEntry | undefined {
    return this.byId.get(id);
  }

  /** The engine whose files start like `head`, if any. */
  recognise(head: Uint8Array): EngineEntry | undefined {
    return this.entries.find((entry) => entry.recognises(head));
  }
}
