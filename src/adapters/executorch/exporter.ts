import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CancelledError, ExportFailedError, ExportSourceError } from '../../core/errors.js';
import { exportFamily, quantizationLabel, type ExportConfig } from '../../core/export-config.js';
import { assertModelId } from '../../core/model-id.js';
import { readGguf } from '../gguf/reader.js';
import type { InstalledModel, ModelCache } from '../models/cache.js';
import { removeQuietly, sha256File } from '../models/files.js';
import type { PteManifest } from '../models/manifest.js';
import type { ModelResolver } from '../models/resolver.js';
import { readPte } from '../pte/reader.js';
import { checkExportBackends, runtimeCanVerify } from './backend-support.js';
import { ensureRuntimeTokenizer } from './runtime-tokenizer.js';
import { PYTHON_DIR, pythonEnv, REQUIREMENTS_FILE, type Toolchain } from './toolchain.js';

export type ExportStage = 'resolve' | 'convert' | 'export' | 'verify' | 'install' | 'encrypt';

export interface ExportOptions {
  config: ExportConfig;
  /** Called only once the source checks out and no identical export is cached, so a bad source never starts a 4 GB install. */
  toolchain: () => Promise<Toolchain>;
  cache: ModelCache;
  resolver: ModelResolver;
  force?: boolean;
  signal?: AbortSignal;
  onStage?: (stage: ExportStage, detail: string) => void;
  /** A last step on the installed model before it is copied out (encryption at rest). */
  finish?: (model: InstalledModel<PteManifest>) => Promise<InstalledModel<PteManifest>>;
}

export interface ExportOutcome {
  model: InstalledModel<PteManifest>;
  /** True when an identical export (same config, source and toolchain) was already in the cache. */
  reused: boolean;
  logPath: string;
  copiedTo?: string;
  verificationSkipped?: string;
}

interface Source {
  kind: 'gguf' | 'hf-dir' | 'meta';
  path: string;
  params?: string;
  tokenizer?: string;
  sha256: string;
  /** What a synthetic checkpoint's synthetic.json says (`onboard dev make-checkpoint`). */
  synthetic?: { shapeOf: string; layers: number; seed: number };
}

/** The Python files an export runs; a change to one of them makes a new export key. */
export const EXPORT_SCRIPTS = ['events.py', 'convert.py', 'export.py', 'speedups.py', 'smoothing.py', 'verify.py', 'parity.py', 'kernels.py'];
/**
 * Of the per-architecture converters, an export runs the package's own two files and its family's:
 * a module, or a package (a family with modules of its own, such as Motif's) whose files all count.
 */
async function architectureScripts(family: string): Promise<string[]> {
  const dir = join(PYTHON_DIR, 'onboard_executorch', 'architectures');
  const own = await readdir(join(dir, family)).catch(() => undefined);
  const familyFiles = own ? own.filter((name) => name.endsWith('.py')).sort().map((name) => join(family, name)) : [`${family}.py`];
  return ['__init__.py', 'common.py', ...familyFiles].map((name) => join('architectures', name));
}
const VERIFY_PROMPT = 'The capital of France is';
const VERIFY_TOKENS = 8;

/**
 * Runs an export end to end: resolve and hash the source, reuse an
 * identical earlier export, else set up the toolchain, check backends, run the Python exporter in a
 * staging folder under the cache's tmp/, verify, and move the result into
 * the cache in one rename. A failure or Ctrl-C leaves nothing in models/.
 */
export async function exportModel(options: ExportOptions): Promise<ExportOutcome> {
  const { config, cache } = options;
  const id = config.export.output_name.replace(/\.pte$/, '');
  const stage = options.onStage ?? (() => {});

  stage('resolve', config.base.checkpoint);
  const source = await resolveSource(config, options.resolver, options.signal);
  const exportKey = await computeExportKey(config, source);

  const existing = await cache.find(id);
  if (!options.force && existing?.manifest.format === 'pte' && existing.manifest.exportKey === exportKey) {
    const cached = existing as InstalledModel<PteManifest>;
    // Exports installed before this fix carry the tokenizer the C++ runner rejects.
    await ensureRuntimeTokenizer(resolve(cached.path, '..'), cached.manifest.tokenizerFile);
    const model = options.finish ? await options.finish(cached) : cached;
    const copiedTo = await copyOut(config, model);
    return { model, reused: true, logPath: join(resolve(model.path, '..'), 'export.log'), copiedTo };
  }

  const toolchain = await options.toolchain();
  await checkExportBackends(config, toolchain);
  await removeAbandonedStaging(cache);
  // The staging path must not contain the model id: ExecuTorch's loader treats a
  // checkpoint whose path contains "8da4w" or "int8" as already quantized.
  const staging = await cache.tempPath('export');
  const outDir = join(staging, id);
  const workDir = join(staging, 'work');
  await mkdir(outDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const logPath = join(outDir, 'export.log');
  const verify = runtimeCanVerify(config);
  const started = Date.now();
  try {
    const job = {
      source: { kind: source.kind, path: source.path, params: source.params, tokenizer: source.tokenizer },
      model_class: config.base.model_class,
      model: { ...config.model, max_context_length: config.model.max_context_length ?? config.model.max_seq_length },
      backend: config.backend,
      quantization: config.quantization,
      output_dir: outDir,
      // A name ending in .pte is used by the exporter as the whole path, so it is absolute.
      output_name: join(outDir, `${id}.pte`),
      work_dir: workDir,
      verify: { run: verify.ok, prompt: VERIFY_PROMPT, new_tokens: VERIFY_TOKENS },
    };
    const jobPath = join(workDir, 'job.json');
    await writeFile(jobPath, JSON.stringify(job, null, 2));
    const result = await runPythonExport(toolchain, jobPath, logPath, stage, options.signal);

    stage('install', `into ${cache.modelsDir}`);
    await copyFile(result.tokenizer, join(outDir, 'tokenizer.json'));
    await ensureRuntimeTokenizer(outDir);
    await copyTokenizerExtras([join(workDir, 'hf-tokenizer'), ...(source.kind === 'hf-dir' ? [source.path] : [])], outDir);
    const ptePath = join(outDir, `${id}.pte`);
    if (resolve(result.pte) !== ptePath) await rename(result.pte, ptePath);
    const pte = await readPte(ptePath);
    assertDelegated(config, pte.backends, logPath);
    const manifest: PteManifest = {
      schemaVersion: 1,
      id,
      file: `${id}.pte`,
      tokenizerFile: 'tokenizer.json',
      source: { kind: 'export', location: config.base.checkpoint, sha256: source.sha256 },
      sha256: await sha256File(ptePath),
      sizeBytes: pte.fileSize,
      format: 'pte',
      backends: pte.backends,
      quantization: quantizationLabel(config),
      modelClass: config.base.model_class,
      maxSeqLength: pte.llm.maxSeqLen ?? config.model.max_seq_length,
      maxContextLength: pte.llm.maxContextLen ?? job.model.max_context_length,
      vocabularySize: pte.llm.vocabSize ?? result.vocab_size,
      bosId: pte.llm.bosId ?? result.bos_id,
      eosIds: pte.llm.eosIds ?? result.eos_ids,
      exportKey,
      exportDurationSeconds: Math.round((Date.now() - started) / 100) / 10,
      versions: result.versions,
      verification: result.verification ? { prompt: result.verification.prompt, logitsShape: result.verification.logits_shape, continuation: result.verification.continuation } : null,
      ...(result.quality ? { quality: { top1Agreement: result.quality.top1_agreement, positions: result.quality.positions, reference: 'transformers on the source weights' } } : {}),
      ...(source.synthetic ? { synthetic: source.synthetic } : {}),
      installedAt: new Date().toISOString(),
    };
    await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const finalDir = cache.dirOf(id);
    await mkdir(cache.modelsDir, { recursive: true });
    await cache.remove(id);
    await rename(outDir, finalDir);
    const installed = { manifest, path: join(finalDir, manifest.file) };
    const model = options.finish ? await options.finish(installed) : installed;
    const copiedTo = await copyOut(config, model);
    return { model, reused: false, logPath: join(finalDir, 'export.log'), copiedTo, verificationSkipped: verify.ok ? undefined : verify.reason };
  } catch (error) {
    const kept = await keepFailedLog(cache, id, logPath);
    if (error instanceof ExportFailedError) throw new ExportFailedError(error.stage, error.details.reason as string, kept ?? error.logPath);
    throw error;
  } finally {
    await removeQuietly(staging);
  }
}

interface PythonResult {
  pte: string;
  tokenizer: string;
  vocab_size: number;
  bos_id: number;
  eos_ids: number[];
  versions: Record<string, string>;
  verification: { prompt: string; logits_shape: number[]; continuation: string } | null;
  quality: { top1_agreement: number; positions: number; agree: number } | null;
}

/** Runs python -m onboard_executorch.export: output to the log, events on fd 3. */
async function runPythonExport(toolchain: Toolchain, jobPath: string, logPath: string, stage: (s: ExportStage, d: string) => void, signal?: AbortSignal): Promise<PythonResult> {
  if (signal?.aborted) throw new CancelledError('Export');
  const log = await open(logPath, 'a');
  try {
    const child = spawn(toolchain.python, ['-m', 'onboard_executorch.export', jobPath], {
      cwd: PYTHON_DIR,
      env: pythonEnv(),
      stdio: ['ignore', log.fd, log.fd, 'pipe'],
    });
    let current: string = 'convert';
    let result: PythonResult | undefined;
    let failure: { code: string; message: string; hint?: string } | undefined;
    const events = createInterface({ input: child.stdio[3] as NodeJS.ReadableStream });
    events.on('line', (line) => {
      const event = JSON.parse(line) as { type: string; stage?: string; detail?: string; code?: string; message?: string; hint?: string };
      if (event.type === 'stage' && event.stage) {
        current = event.stage;
        stage(event.stage as ExportStage, event.detail ?? '');
      } else if (event.type === 'result') result = event as unknown as PythonResult;
      else if (event.type === 'error') failure = { code: event.code ?? 'EXPORT_FAILED', message: event.message ?? '', hint: event.hint || undefined };
    });
    const onAbort = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const code = await new Promise<number | null>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', resolvePromise);
    });
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) throw new CancelledError('Export');
    if (failure?.code.startsWith('EXPORT_SOURCE') || failure?.code.startsWith('EXPORT_ARCHITECTURE')) {
      throw new ExportSourceError('the checkpoint', failure.message, failure.hint ?? 'See docs/model-preparation.md for the supported inputs.');
    }
    if (code !== 0 || !result) {
      const reason = failure?.message ?? `the exporter exited with ${code} and no result`;
      throw new ExportFailedError(current, reason, logPath);
    }
    return result;
  } finally {
    await log.close();
  }
}

async function readSynthetic(path: string): Promise<Source['synthetic']> {
  let facts: { shape_of?: unknown; layers?: unknown; seed?: unknown } = {};
  try {
    facts = JSON.parse(await readFile(path, 'utf8')) as typeof facts;
  } catch {
    // Unreadable: still synthetic, as its presence says.
  }
  return { shapeOf: String(facts.shape_of ?? 'unknown'), layers: Number(facts.layers) || 0, seed: Number(facts.seed) || 0 };
}

async function resolveSource(config: ExportConfig, resolver: ModelResolver, signal?: AbortSignal): Promise<Source> {
  const spec = config.base.checkpoint;
  const path = spec.startsWith('model:') ? (await resolver.resolve(assertModelId(spec.slice('model:'.length), 'base.checkpoint model id'), signal)).path : resolve(spec);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new ExportSourceError(spec, `base.checkpoint ${path} does not exist`, 'Point base.checkpoint at a Hugging Face model directory, a .gguf file, a Meta .pth, or model:<id> from `onboard models list`.');
  if (info.isDirectory()) {
    const files = await readdir(path);
    const missing = ['config.json', 'tokenizer.json'].filter((f) => !files.includes(f));
    if (!files.some((f) => f.endsWith('.safetensors'))) missing.push('*.safetensors');
    if (missing.length > 0) throw new ExportSourceError(spec, `the directory ${path} lacks ${missing.join(', ')}`, 'A Hugging Face model directory needs config.json, the .safetensors weights and tokenizer.json.');
    return { kind: 'hf-dir', path, sha256: await hashDirectory(path, files), ...(files.includes('synthetic.json') ? { synthetic: await readSynthetic(join(path, 'synthetic.json')) } : {}) };
  }
  const extension = extname(path).toLowerCase();
  if (extension === '.gguf') {
    await readGguf(path);
    return { kind: 'gguf', path, sha256: await sha256File(path) };
  }
  if (extension === '.pth' || extension === '.pt') {
    if (!config.base.params) throw new ExportSourceError(spec, 'a Meta .pth checkpoint needs base.params (its params.json)', 'Set base.params to the params.json that came with the checkpoint.');
    if (!config.base.tokenizer) throw new ExportSourceError(spec, 'a Meta .pth checkpoint needs base.tokenizer (a tokenizer.json)', 'Set base.tokenizer to the model\'s tokenizer.json.');
    for (const file of [config.base.params, config.base.tokenizer]) {
      if (!(await stat(file).catch(() => undefined))) throw new ExportSourceError(spec, `${file} does not exist`, 'Fix the path in the config.');
    }
    return { kind: 'meta', path, params: resolve(config.base.params), tokenizer: resolve(config.base.tokenizer), sha256: await sha256File(path) };
  }
  throw new ExportSourceError(spec, `${basename(path)} is not a model directory, .gguf or .pth`, 'Point base.checkpoint at a Hugging Face model directory, a .gguf file or a Meta .pth checkpoint.');
}

/** Hash of the files that define a Hugging Face checkpoint, in name order. */
async function hashDirectory(dir: string, files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files.filter((f) => f.endsWith('.json') || f.endsWith('.safetensors') || f.endsWith('.model')).sort()) {
    hash.update(`${file}\0`);
    for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Equal keys mean an equal export: the config (less where copies go, and less where the
 * checkpoint lies: its content is hashed), the source, the toolchain and our export code.
 */
async function computeExportKey(config: ExportConfig, source: Source): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...config, base: { ...config.base, checkpoint: undefined }, export: { output_name: config.export.output_name } }));
  hash.update(source.sha256);
  hash.update(await readFile(REQUIREMENTS_FILE));
  for (const file of [...EXPORT_SCRIPTS, ...(await architectureScripts(exportFamily(config.base.model_class)))]) {
    hash.update(file);
    hash.update(await readFile(join(PYTHON_DIR, 'onboard_executorch', file)));
  }
  return hash.digest('hex');
}

async function copyOut(config: ExportConfig, model: InstalledModel<PteManifest>): Promise<string | undefined> {
  if (!config.export.output_dir) return undefined;
  const target = resolve(config.export.output_dir);
  await mkdir(target, { recursive: true });
  const from = resolve(model.path, '..');
  for (const file of [model.manifest.file, model.manifest.tokenizerFile, 'manifest.json', 'export.log']) {
    const tmp = join(target, `.${file}.part`);
    await copyFile(join(from, file), tmp).catch(() => undefined);
    await rename(tmp, join(target, file)).catch(() => undefined);
  }
  return target;
}

/** The tokenizer's config and chat template, when the source has them: the engine reads the template from here. */
async function copyTokenizerExtras(candidates: string[], outDir: string): Promise<void> {
  for (const file of ['tokenizer_config.json', 'chat_template.jinja']) {
    for (const dir of candidates) {
      const copied = await copyFile(join(dir, file), join(outDir, file)).then(
        () => true,
        () => false,
      );
      if (copied) break;
    }
  }
}

/** Staging folders of exports whose process is gone (killed without a chance to clean up). */
async function removeAbandonedStaging(cache: ModelCache): Promise<void> {
  const names = await readdir(cache.tmpDir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = /^export\.(\d+)\.\d+\.part$/.exec(name)?.[1];
    if (pid && !processAlive(Number(pid))) await removeQuietly(join(cache.tmpDir, name));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A failed export's log moves to <cache>/logs/ so the staging folder can go. */
async function keepFailedLog(cache: ModelCache, id: string, logPath: string): Promise<string | undefined> {
  const logs = join(cache.root, 'logs');
  const kept = join(logs, `export-${id}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  try {
    await mkdir(logs, { recursive: true });
    await copyFile(logPath, kept);
    return kept;
  } catch {
    return undefined;
  }
}

/** The program must hold the delegates the config asked for: an exporter that quietly skipped one made the wrong artifact. */
function assertDelegated(config: ExportConfig, backends: readonly string[], logPath: string): void {
  const wanted: Array<[boolean, string]> = [
    [config.backend.xnnpack.enabled, 'XnnpackBackend'],
    [config.backend.vulkan.enabled, 'VulkanBackend'],
    [config.backend.qnn.enabled, 'QnnBackend'],
  ];
  const missing = wanted.filter(([enabled, id]) => enabled && !backends.includes(id)).map(([, id]) => id);
  if (missing.length) throw new ExportFailedError('install', `the exported program has no ${missing.join(', ')} delegate (it has ${backends.join(', ') || 'none'}): the exporter lowered nothing to it`, logPath);
}
