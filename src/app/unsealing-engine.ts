import { open } from 'node:fs/promises';
import { unsealToMemory, type ModelKeySource } from '../adapters/files/model-bytes.js';
import { isSealed, SEALED_MAGIC } from '../adapters/files/sealed-format.js';
import type { Engine, LoadedModel } from '../core/engine.js';

async function isSealedFile(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return false; // the engine reports the missing or unreadable file itself
  try {
    const head = Buffer.alloc(SEALED_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    return isSealed(head);
  } finally {
    await handle.close();
  }
}

/** The model's unload also releases `release` (the decrypted bytes), whatever unload does. */
function releasingOnUnload(model: LoadedModel, release: () => void): LoadedModel {
  const unload = model.unload.bind(model);
  return Object.assign(model, {
    unload: async () => {
      try {
        await unload();
      } finally {
        release();
      }
    },
  });
}

/**
 * An engine that also loads models encrypted at rest: the file is decrypted
 * into an anonymous memory file (never a disk), the engine opens that, and
 * the memory is released when the model is unloaded or fails to load. The
 * memory file stays open while the model is loaded: a supervised host that
 * restarts reloads from it.
 */
export function unsealingEngine<Header>(engine: Engine<Header>, key: ModelKeySource): Engine<Header> {
  return {
    name: engine.name,
    async load(options) {
      if (options.openPath !== undefined || !(await isSealedFile(options.modelPath))) return engine.load(options);
      const memory = await unsealToMemory(options.modelPath, key);
      try {
        return releasingOnUnload(await engine.load({ ...options, openPath: memory.path }), () => memory.close());
      } catch (error) {
        memory.close();
        throw error;
      }
    },
  };
}
