import { copyFile, lstat, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { readTextAtMost } from '../adapters/files/file-checks.js';
import { sealFile } from '../adapters/files/sealed-file.js';
import type { InstalledModel, ModelCache } from '../adapters/models/cache.js';
import { sha256File } from '../adapters/models/files.js';
import { BundleInvalidError, InvalidOptionError, ModelKeyRequiredError, UnknownModelError } from '../core/errors.js';
import { MODEL_ID_PATTERN } from '../core/model-id.js';
import type { ModelKeySource } from '../adapters/files/model-bytes.js';

export const BUNDLE_MANIFEST = 'bundle.json';
const MAX_MANIFEST_BYTES = 1 << 20;
/** Besides the program: what react-native-executorch and ExecuTorch's Android demo load next to a .pte. */
const COMPANIONS = [
  { name: 'tokenizer.json', role: 'tokenizer' },
  { name: 'tokenizer_config.json', role: 'tokenizer-config' },
  { name: 'chat_template.jinja', role: 'chat-template' },
] as const;

const fileEntry = z.strictObject({
  /** A plain file name in the bundle's folder: never a path. */
  name: z.string().regex(MODEL_ID_PATTERN),
  role: z.enum(['program', 'model', 'tokenizer', 'tokenizer-config', 'chat-template']),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const bundleManifestSchema = z.strictObject({
  format: z.literal('onboard-bundle'),
  version: z.literal(1),
  model: z.string(),
  engine: z.enum(['executorch', 'llamacpp']),
  createdAt: z.string(),
  /** Set when the model file is encrypted at rest (onboard-sealed-1): its plaintext's sha256, for a device that decrypts it. */
  encryption: z.strictObject({ format: z.literal('onboard-sealed-1'), cipher: z.literal('aes-256-gcm'), plaintextSha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  files: z.array(fileEntry).min(1),
});

export type BundleManifest = z.infer<typeof bundleManifestSchema>;

async function describeFile(dir: string, name: string, role: BundleManifest['files'][number]['role']) {
  const path = join(dir, name);
  return { name, role, bytes: (await stat(path)).size, sha256: await sha256File(path) };
}

/**
 * Writes an installed model as the files an Android app loads, plus
 * bundle.json (sizes and sha256). Built in a sibling folder and renamed into
 * place, so `out` is either complete or absent. With `encrypt`, the model file
 * is encrypted with the model key as it is copied (a plain copy never exists).
 */
export interface BundleRequest {
  /** An installed artifact id. */
  id: string;
  out: string;
  encrypt?: boolean;
}

export async function makeBundle(deps: { cache: ModelCache; modelKey: ModelKeySource }, request: BundleRequest): Promise<{ dir: string; manifest: BundleManifest }> {
  const model = await deps.cache.find(request.id);
  if (!model) throw new UnknownModelError(request.id, (await deps.cache.list()).models.map((m) => m.manifest.id));
  const out = resolve(request.out);
  if (await lstat(out).then(() => true, () => false)) throw new InvalidOptionError('--out', `${out} already exists; give a new folder (a bundle is never written over another)`);
  const key = request.encrypt && !model.manifest.encryption ? deps.modelKey() : undefined;
  if (request.encrypt && !model.manifest.encryption && !key) throw new ModelKeyRequiredError(request.id, 'is to be bundled encrypted (--encrypt)');

  const building = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  await mkdir(building, { recursive: true, mode: 0o700 });
  try {
    const files = [await copyModelFile(model, building, key)];
    const source = dirname(model.path);
    for (const companion of model.manifest.format === 'pte' ? COMPANIONS : []) {
      const copied = await copyFile(join(source, companion.name), join(building, companion.name)).then(() => true, () => false);
      if (copied) files.push(await describeFile(building, companion.name, companion.role));
    }
    const plaintextSha256 = model.manifest.encryption?.plaintextSha256 ?? (key ? model.manifest.sha256 : undefined);
    const manifest: BundleManifest = {
      format: 'onboard-bundle',
      version: 1,
      model: model.manifest.id,
      engine: model.manifest.format === 'pte' ? 'executorch' : 'llamacpp',
      createdAt: new Date().toISOString(),
      ...(plaintextSha256 ? { encryption: { format: 'onboard-sealed-1' as const, cipher: 'aes-256-gcm' as const, plaintextSha256 } } : {}),
      files,
    };
    await writeFile(join(building, BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(building, out);
    return { dir: out, manifest };
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
}

async function copyModelFile(model: InstalledModel, dir: string, key: Buffer | undefined) {
  const role = model.manifest.format === 'pte' ? ('program' as const) : ('model' as const);
  const plainName = model.manifest.encryption?.plaintextFile ?? model.manifest.file;
  const name = model.manifest.encryption || key ? `${plainName}.sealed` : plainName;
  if (key) await sealFile(model.path, join(dir, name), key);
  else await copyFile(model.path, join(dir, name));
  return describeFile(dir, name, role);
}

/** Checks a copied bundle against its bundle.json: every file there, of its size and sha256, nothing outside the folder. */
export async function verifyBundle(dir: string): Promise<{ manifest: BundleManifest; extraFiles: string[] }> {
  const root = resolve(dir);
  let manifest: BundleManifest;
  try {
    const parsed = bundleManifestSchema.safeParse(JSON.parse(await readTextAtMost(join(root, BUNDLE_MANIFEST), MAX_MANIFEST_BYTES)));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new BundleInvalidError(root, [`${BUNDLE_MANIFEST}: ${issue.path.join('.') || 'top'}: ${issue.message}`]);
    }
    manifest = parsed.data;
  } catch (error) {
    if (error instanceof BundleInvalidError) throw error;
    throw new BundleInvalidError(root, [`${BUNDLE_MANIFEST} is missing or unreadable (${(error as Error).message.split('\n')[0]})`]);
  }
  const problems: string[] = [];
  for (const file of manifest.files) {
    const path = join(root, file.name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) problems.push(`${file.name} is missing`);
    else if (!info.isFile()) problems.push(`${file.name} is not a regular file`);
    else if (info.size !== file.bytes) problems.push(`${file.name} has ${info.size} bytes, the manifest says ${file.bytes}`);
    else if ((await sha256File(path)) !== file.sha256) problems.push(`${file.name}'s sha256 differs from the manifest's`);
  }
  if (problems.length) throw new BundleInvalidError(root, problems);
  const listed = new Set([BUNDLE_MANIFEST, ...manifest.files.map((f) => f.name)]);
  return { manifest, extraFiles: (await readdir(root)).filter((name) => !listed.has(name)) };
}
