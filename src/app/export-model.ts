import { loadExportConfig } from '../adapters/executorch/export-config-file.js';
import { exportModel, type ExportOutcome, type ExportStage } from '../adapters/executorch/exporter.js';
import { ensureToolchain } from '../adapters/executorch/toolchain.js';
import type { InstalledModel, ModelCache } from '../adapters/models/cache.js';
import type { PteManifest } from '../adapters/models/manifest.js';
import type { ModelKeySource } from '../adapters/files/model-bytes.js';
import { ModelKeyRequiredError } from '../core/errors.js';
import type { ModelResolver } from '../adapters/models/resolver.js';

export type { ExportOutcome, ExportStage };

export interface ExportRequest {
  /** The export config file (YAML). */
  configPath: string;
  /** `key=value` overrides of the config, applied in order. */
  overrides: readonly string[];
  force?: boolean;
  signal?: AbortSignal;
  onStage: (stage: ExportStage, detail: string) => void;
  /** The toolchain installer's lines, when it has to run. */
  log: (line: string) => void;
}

/** Exports a model to a .pte as its config says, verifies it and installs it in the cache. */
export async function exportFromConfig(deps: { cache: ModelCache; resolver: ModelResolver; modelKey: ModelKeySource }, request: ExportRequest): Promise<ExportOutcome> {
  const config = await loadExportConfig(request.configPath, request.overrides);
  // Checked before anything runs: an export of half an hour must not end unencryptable.
  const key = config.export.encrypt ? deps.modelKey() : undefined;
  if (config.export.encrypt && !key) throw new ModelKeyRequiredError(config.export.output_name, 'is to be encrypted (export.encrypt: true)');
  return exportModel({
    ...(key
      ? {
          finish: (model: InstalledModel<PteManifest>) => {
            request.onStage('encrypt', model.manifest.id);
            return deps.cache.seal(model, key) as Promise<InstalledModel<PteManifest>>;
          },
        }
      : {}),
    config,
    toolchain: () => ensureToolchain(request.log),
    cache: deps.cache,
    resolver: deps.resolver,
    force: request.force,
    ...(request.signal ? { signal: request.signal } : {}),
    onStage: request.onStage,
  });
}
