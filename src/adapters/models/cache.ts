import { lstat, mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ChecksumMismatchError, OnboardError } from '../../core/errors.js';
import { isModelId } from '../../core/model-id.js';
import { assertRealPathInside, childPath } from '../files/contained-path.js';
import { sealFile, unsealFile } from '../files/sealed-file.js';
import { readTextAtMost } from '../files/file-checks.js';
import { readGguf } from '../gguf/reader.js';
import { findCatalogEntry } from './catalog.js';
import { userCacheDir } from '../system/user-cache.js';
import { removeQuietly, sha256File } from './files.js';
import { manifestFor, manifestSchema, type GgufManifest, type Manifest } from './manifest.js';

/** `$ONBOARD_CACHE_DIR`, else `$XDG_CACHE_HOME/onboard`, else `~/.cache/onboard`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ONBOARD_CACHE_DIR || userCacheDir(env);
}

export interface InstalledModel<M extends Manifest = Manifest> {
  manifest: M;
  path: string;
}

export interface CacheProblem {
  id: string;
  problem: string;
}

const MANIFEST = 'manifest.json';
/** A manifest is a few KiB; anything far larger is not one (and is not read into memory). */
const MAX_MANIFEST_BYTES = 1 << 20;

/**
 * The model cache: one folder per model with its file and a manifest.
 * Installs are atomic: the file is written under tmp/, checked (sha256,
 * GGUF header), renamed into place, and the manifest is written last, so a
 * folder without a manifest is never taken for an installed model.
 */
export class ModelCache {
  readonly modelsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.modelsDir = join(root, 'models');
    this.tmpDir = join(root, 'tmp');
  }

  /** A fresh path under tmp/ on the cache's filesystem, so the final rename is atomic. */
  async tempPath(name: string): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    return childPath(this.tmpDir, `${name}.${process.pid}.${Date.now()}.part`, 'temporary file name');
  }

  /** A fixed path under tmp/ for downloads that resume across runs. */
  async stablePartPath(name: string): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    return childPath(this.tmpDir, `${name}.part`, 'temporary file name');
  }

  async list(): Promise<{ models: InstalledModel[]; problems: CacheProblem[] }> {
    const models: InstalledModel[] = [];
    const problems: CacheProblem[] = [];
    let ids: string[] = [];
    try {
      ids = (await readdir(this.modelsDir)).sort();
    } catch {
      return { models, problems };
    }
    for (const id of ids) {
      if (!isModelId(id)) {
        problems.push({ id: JSON.stringify(id), problem: 'not a model id (nothing onboard made); remove it by hand' });
        continue;
      }
      const found = await this.read(id);
      if ('problem' in found) problems.push({ id, problem: found.problem });
      else models.push(found);
    }
    return { models, problems };
  }

  /** The installed model, if its manifest is valid and its file has the recorded size. */
  async find(id: string): Promise<InstalledModel | undefined> {
    const found = await this.read(id);
    return 'problem' in found ? undefined : found;
  }

  /**
   * Installed artifacts grouped by model. An artifact's model is the one its
   * manifest names, else the model of the artifact it was exported from
   * (`model:<id>`), else the catalog's, else its own id.
   */
  async models(): Promise<Map<string, InstalledModel[]>> {
    return groupByModel((await this.list()).models);
  }

  async install(id: string, tempFile: string, options: { expectedSha256?: string; source: GgufManifest['source']; fileName: string; model?: string }): Promise<InstalledModel<GgufManifest>> {
    try {
      const sha256 = await sha256File(tempFile);
      if (options.expectedSha256 && sha256 !== options.expectedSha256) {
        throw new ChecksumMismatchError(options.source.location, options.expectedSha256, sha256);
      }
      const dir = this.dirOf(id);
      const path = childPath(dir, options.fileName, 'model file name');
      const gguf = await readGguf(tempFile);
      await this.remove(id);
      await mkdir(dir, { recursive: true });
      await rename(tempFile, path);
      const manifest = manifestFor(id, { ...gguf, path }, sha256, options.source, options.fileName, options.model);
      await this.writeManifest(manifest);
      return { manifest, path };
    } finally {
      await removeQuietly(tempFile);
    }
  }

  /** `models/<id>`, for an id of the cache grammar only. */
  dirOf(id: string): string {
    return childPath(this.modelsDir, id, 'model id');
  }

  /**
   * Removes one model folder. The id is checked against the grammar, so no id
   * reaches outside models/; a symlink in its place is unlinked, never followed.
   */
  async remove(id: string): Promise<boolean> {
    const dir = this.dirOf(id);
    const entry = await lstat(dir).catch(() => undefined);
    if (!entry) return false;
    if (entry.isSymbolicLink()) await unlink(dir);
    else await removeQuietly(dir);
    return true;
  }

  /**
   * Encrypts an installed model's file in place (AES-256-GCM, docs/vehicle.md).
   * The encrypted file is written under tmp/ and renamed beside the plain one;
   * the manifest's atomic rename is the switch; then the plain file is removed.
   * A crash before the switch leaves the model as it was.
   */
  async seal(model: InstalledModel, key: Buffer): Promise<InstalledModel> {
    if (model.manifest.encryption) return model;
    const dir = this.dirOf(model.manifest.id);
    const file = childPath(dir, `${model.manifest.file}.sealed`, 'model file name');
    const temp = await this.tempPath(`${model.manifest.id}.sealed`);
    try {
      const sealed = await sealFile(model.path, temp, key);
      await rename(temp, file);
      const encryption = { format: 'onboard-sealed-1' as const, cipher: 'aes-256-gcm' as const, plaintextSha256: sealed.header.plaintextSha256, plaintextBytes: sealed.header.plaintextBytes, plaintextFile: model.manifest.file };
      const manifest = { ...model.manifest, file: basename(file), sha256: sealed.sealedSha256, sizeBytes: sealed.sealedBytes, encryption };
      await this.writeManifest(manifest);
      await removeQuietly(model.path);
      return { manifest, path: file };
    } finally {
      await removeQuietly(temp);
    }
  }

  /** Decrypts an installed model's file in place: the reverse of seal, with the same order of steps. */
  async unseal(model: InstalledModel, key: Buffer): Promise<InstalledModel> {
    const { encryption, ...plain } = model.manifest;
    if (!encryption) return model;
    const file = childPath(this.dirOf(model.manifest.id), encryption.plaintextFile, 'model file name');
    const temp = await this.tempPath(`${model.manifest.id}.plain`);
    try {
      await unsealFile(model.path, temp, key);
      await rename(temp, file);
      const manifest = { ...plain, file: encryption.plaintextFile, sha256: encryption.plaintextSha256, sizeBytes: encryption.plaintextBytes } as Manifest;
      await this.writeManifest(manifest);
      await removeQuietly(model.path);
      return { manifest, path: file };
    } finally {
      await removeQuietly(temp);
    }
  }

  private async writeManifest(manifest: Manifest): Promise<void> {
    const temp = await this.tempPath(`${manifest.id}.manifest`);
    await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(temp, join(this.dirOf(manifest.id), MANIFEST));
  }

  /** Re-hashes the file and compares it with the manifest. */
  async verify(model: InstalledModel): Promise<{ ok: boolean; actualSha256: string }> {
    const actualSha256 = await sha256File(model.path);
    return { ok: actualSha256 === model.manifest.sha256, actualSha256 };
  }

  private async read(id: string): Promise<InstalledModel | { problem: string }> {
    const dir = this.dirOf(id);
    let manifest: Manifest;
    try {
      await assertRealPathInside(this.modelsDir, dir);
      const manifestPath = join(dir, MANIFEST);
      await assertRealPathInside(dir, manifestPath);
      const text = await readTextAtMost(manifestPath, MAX_MANIFEST_BYTES);
      const parsed = manifestSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        return { problem: `manifest field ${issue.path.join('.') || '(top)'} is invalid: ${issue.message}` };
      }
      manifest = parsed.data;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { problem: 'no manifest (an interrupted install?)' };
      if (error instanceof OnboardError) return { problem: error.message };
      return { problem: `manifest unreadable: ${(error as Error).message.split('\n')[0]}` };
    }
    if (manifest.id !== id) return { problem: `its manifest names another id (${JSON.stringify(manifest.id)})` };
    const path = join(dir, manifest.file);
    for (const file of manifest.format === 'pte' ? [path, join(dir, manifest.tokenizerFile)] : [path]) {
      try {
        await assertRealPathInside(dir, file);
      } catch (error) {
        return { problem: (error as Error).message };
      }
    }
    const size = await lstat(path).then(
      (s) => (s.isFile() ? s.size : -2),
      () => -1,
    );
    if (size === -2) return { problem: `file ${manifest.file} is not a regular file` };
    if (size < 0) return { problem: `file ${manifest.file} is missing` };
    if (size !== manifest.sizeBytes) return { problem: `file ${manifest.file} has ${size} bytes, manifest says ${manifest.sizeBytes}` };
    return { manifest, path };
  }
}

/** Installed artifacts grouped by model (see ModelCache.models), for callers that listed the cache already. */
export function groupByModel(models: readonly InstalledModel[]): Map<string, InstalledModel[]> {
  const byId = new Map(models.map((m) => [m.manifest.id, m.manifest]));
  const groups = new Map<string, InstalledModel[]>();
  for (const installed of models) {
    const name = modelNameOf(installed.manifest, byId);
    groups.set(name, [...(groups.get(name) ?? []), installed]);
  }
  return groups;
}

export function modelNameOf(manifest: Manifest, byId: ReadonlyMap<string, Manifest>, depth = 0): string {
  if (manifest.model) return manifest.model;
  if (manifest.format === 'gguf') return findCatalogEntry(manifest.id)?.model ?? manifest.id;
  const source = /^model:(.+)$/.exec(manifest.source.location)?.[1];
  if (!source) return manifest.id;
  const from = byId.get(source);
  if (from && depth < 8) return modelNameOf(from, byId, depth + 1);
  return findCatalogEntry(source)?.model ?? manifest.id;
}
