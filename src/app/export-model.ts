import { loadExportConfig } from '../adapters/executorch/export-config-file.js';
import { exportModel, type ExportOutcome, type ExportStage } from '../adapters/executorch/exporter.js';
import { ensureToolchain } from '../adapters/executorch/toolchain.js';
import type { ModelCache } from '../adapters/models/cache.js';
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
export async function exportFromConfig(deps: { cache: ModelCache; resolver: ModelResolver }, request: ExportRequest): Promise<ExportOutcome> {
  const config = await loadExportConfig(request.configPath, request.overrides);
  return exportModel({
    config,
    toolchain: () => ensureToolchain(request.log),
    cache: deps.cache,
    resolver: deps.resolver,
    force: request.force,
    ...(request.signal ? { signal: request.signal } : {}),
    onStage: request.onStage,
  });
}
