import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DecodeThreadMemory } from '../../core/decode-threads.js';

interface Entry {
  threads: number;
  /** When it was measured, in ms since the epoch. */
  at: number;
}

/**
 * Decode thread decisions in one small JSON file (in the model cache's folder). A decision is
 * trusted for `maxAgeMs` (a day by default), then measured again: a machine's load changes, and a
 * one-shot `onboard run` never lives long enough to notice. It is a cache: a file that cannot be
 * read is no decisions, and one that cannot be written is left as it was.
 */
export function fileDecodeThreadMemory(path: string, options: { maxAgeMs?: number; now?: () => number } = {}): DecodeThreadMemory {
  const maxAgeMs = options.maxAgeMs ?? 24 * 3600_000;
  const now = options.now ?? Date.now;
  const read = (): Record<string, Entry> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Entry>) : {};
    } catch {
      return {};
    }
  };
  return {
    recall(key) {
      const entry = read()[key];
      const fresh = entry && Number.isInteger(entry.threads) && entry.threads >= 1 && typeof entry.at === 'number' && now() - entry.at < maxAgeMs;
      return fresh ? entry.threads : undefined;
    },
    remember(key, threads) {
      try {
        const entries = { ...read(), [key]: { threads, at: now() } };
        mkdirSync(dirname(path), { recursive: true });
        // Written aside and renamed over: a reader never sees half a file.
        const temp = `${path}.${process.pid}.tmp`;
        writeFileSync(temp, JSON.stringify(entries, null, 1));
        renameSync(temp, path);
      } catch {
        // a cache that cannot be written costs a trial next time, nothing more
      }
    },
  };
}
