import { executorchEntry } from '../adapters/executorch/entry.js';
import { llamaCppEntry } from '../adapters/llamacpp/entry.js';
import { defaultCacheDir, ModelCache } from '../adapters/models/cache.js';
import { hubEndpoint } from '../adapters/models/hub.js';
import { silentProgress, type Progress } from '../adapters/models/progress.js';

export type { Progress };
import { ModelResolver, type ResolvedModel } from '../adapters/models/resolver.js';
import type { InstalledModel } from '../adapters/models/cache.js';
import { detectDevice } from '../adapters/system/device.js';
import { loadFirstRunnable } from '../core/artifact-chain.js';
import { DEFAULT_PRIORITY, planArtifacts, type Artifact, type ArtifactPlan, type DeviceProfile, type PriorityItem } from '../core/artifact-plan.js';
import { availableMemoryBytes, processMemoryProbe } from '../adapters/system/process-memory.js';
import { performanceClock } from '../adapters/system/clock.js';
import { fileDecodeThreadMemory } from '../adapters/system/decode-thread-memory.js';
import { createXgrammarCompiler } from '../adapters/grammar/xgrammar-compiler.js';
import { ChatSession, type SendOptions } from '../core/chat-session.js';
import { ModelRunner } from '../core/model-runner.js';
import type { LoadedModel } from '../core/engine.js';
import { EngineRegistry, type EngineEntry } from '../core/engine-registry.js';
import { openModelFile, readArtifact } from './model-files.js';
import { createModelManager } from './manage-models.js';
import { exportFromConfig, type ExportRequest } from './export-model.js';
import { InvalidOptionError } from '../core/errors.js';
import type { BackendRequest } from '../core/types.js';
import { SMALLEST_CONTEXT } from '../core/memory-estimate.js';
import { cgroupMemoryLimit } from '../adapters/system/cgroup-memory.js';
import { DEFAULT_THERMAL_ROOT, thermalMonitor } from '../adapters/system/thermal-zones.js';
import { modelKeyFromEnv } from '../adapters/files/model-key.js';
import { withAppConcerns } from './app-engines.js';
import { makeBundle, type BundleRequest } from './bundle.js';
import { join } from 'node:path';
import type { DecodeThreadMemory } from '../core/decode-threads.js';

/** Which engine runs a model: `auto` (the one whose format the file is) or an engine's id. */
export type EngineRequest = string;

export interface AppConfig {
  cacheDir: string;
  hubEndpoint: string;
  hubToken?: string;
  python: string;
  /** Never reach the network: fetching a model is a NETWORK_DISABLED error instead of a wait (ONBOARD_OFFLINE=1, --offline). */
  offline?: boolean;
  progress: Progress;
  onWarning: (message: string) => void;
  /** Called when an engine host process died and was restarted. */
  onEngineRestart?: (engine: string, reason: string) => void;
  /** The engines, when not the default ones (llama.cpp and ExecuTorch); see defaultEngines. */
  engines?: (hooks: EngineHooks) => EngineEntry[];
  /** Where the thermal zones are read (ONBOARD_THERMAL_ROOT, default /sys/class/thermal); a fixture folder in tests. */
  thermalRoot?: string;
  /** The memory limit of the process's cgroup, a budget for every load (default: read from /sys/fs/cgroup). */
  cgroupMemoryLimit?: () => number | undefined;
  /** The key for models encrypted at rest (ONBOARD_MODEL_KEY, --key-file), read when an encrypted file is first met. */
  modelKey?: () => Buffer | undefined;
  /** Where measured decode thread counts are remembered (ONBOARD_DECODE_THREADS_FILE; default decode-threads.json in the cache). */
  decodeThreadsFile?: string;
}

export interface EngineHooks {
  /** An engine whose host process died and was restarted calls this. */
  onRestart: (engine: string, reason: string) => void;
  /** Where measured decode thread counts are kept (beside the model cache). */
  decodeThreadMemory: DecodeThreadMemory;
}

/** The engine registry's entries: one per engine, and nothing else in the app names an engine. */
export function defaultEngines(hooks: EngineHooks): EngineEntry[] {
  return [llamaCppEntry({ availableMemoryBytes, decodeThreadMemory: hooks.decodeThreadMemory }), executorchEntry({ onRestart: (reason) => hooks.onRestart('executorch', reason) })] as EngineEntry[];
}

export function configFromEnv(overrides: Partial<AppConfig> = {}, env: NodeJS.ProcessEnv = process.env): AppConfig {
  return {
    cacheDir: defaultCacheDir(env),
    hubEndpoint: hubEndpoint(env),
    ...(env.HF_TOKEN ? { hubToken: env.HF_TOKEN } : {}),
    python: env.ONBOARD_PYTHON || 'python3',
    offline: env.ONBOARD_OFFLINE === '1' || env.ONBOARD_OFFLINE === 'true',
    modelKey: once(() => modelKeyFromEnv(env)),
    thermalRoot: env.ONBOARD_THERMAL_ROOT || DEFAULT_THERMAL_ROOT,
    ...(env.ONBOARD_DECODE_THREADS_FILE ? { decodeThreadsFile: env.ONBOARD_DECODE_THREADS_FILE } : {}),
    cgroupMemoryLimit: () => cgroupMemoryLimit(),
    progress: silentProgress,
    onWarning: () => {},
    ...overrides,
  };
}

/** `read`'s value, computed on the first call (a thrown error is thrown again on every call). */
function once<T>(read: () => T): () => T {
  let value: { ok: T } | undefined;
  return () => (value ??= { ok: read() }).ok;
}

export interface OpenModelOptions {
  /** An artifact id, a model name (its artifacts are chosen among) or a path; the default model when absent. */
  model?: string;
  backend?: BackendRequest;
  engine?: EngineRequest;
  /** For a model with several artifacts: accelerator classes or backends, best first (default npu,gpu,cpu). */
  priority?: readonly PriorityItem[];
  contextSize?: number;
  threads?: number;
  /** Threads for each answer token (at most `threads`); default: measured while the first answer decodes. */
  decodeThreads?: number;
  /** For a .pte: its tokenizer file (or folder), when it is not beside the program. */
  tokenizer?: string;
  /** Load within this many bytes: the context, then the sequences, shrink to fit (the cgroup's limit applies too). */
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
}

export interface OpenRunnerOptions extends OpenModelOptions {
  /** Conversations served at once (KV-cache sequences). */
  parallel?: number;
  /** Requests allowed to wait when all sequences are busy. */
  maxQueue?: number;
  /** Sees each answer's prompt and text (an explicit prompt log only). */
  onAnswer?: (record: { prompt: string; answer: string }) => void;
  /** Drop the oldest turns while the predicted time to first token exceeds this (ms). */
  ttftBudgetMs?: number;
}

export interface OpenChatOptions extends OpenModelOptions {
  systemPrompt?: string;
  defaults?: SendOptions;
}

export const DEFAULT_CONTEXT_SIZE = 4096;
/** llama.cpp rounds a smaller context up to this; asking for less is refused rather than silently changed. */
export const MIN_CONTEXT_SIZE = SMALLEST_CONTEXT;

/** The composition root: builds the object graph once, with real adapters. */
export function createApp(config: AppConfig = configFromEnv()) {
  const cache = new ModelCache(config.cacheDir);
  const resolver = new ModelResolver({
    cache,
    hubEndpoint: config.hubEndpoint,
    ...(config.hubToken ? { hubToken: config.hubToken } : {}),
    python: config.python,
    offline: config.offline ?? false,
    progress: config.progress,
  });
  const restartListeners = new Set<(engine: string, reason: string) => void>();
  /** Asked only when an encrypted file is met: a bad key file troubles no one using plain models. */
  const modelKey = (): Buffer | undefined => config.modelKey?.();
  const engines = new EngineRegistry(
    (config.engines ?? defaultEngines)({
      onRestart: (engine, reason) => {
        config.onEngineRestart?.(engine, reason);
        for (const listener of restartListeners) listener(engine, reason);
      },
      decodeThreadMemory: fileDecodeThreadMemory(config.decodeThreadsFile ?? join(config.cacheDir, 'decode-threads.json')),
    }).map((entry) => withAppConcerns(entry, modelKey, config.onWarning)),
  );
  /** Subscribe to engine host restarts (the server counts them in /metrics). */
  const onEngineRestart = (listener: (engine: string, reason: string) => void): void => {
    restartListeners.add(listener);
  };

  const memory = processMemoryProbe;

  /** The tighter of --memory-budget and the cgroup's limit, when either is set. */
  function memoryBudget(requested: number | undefined): { memoryBudgetBytes?: number } {
    const limits = [requested, config.cgroupMemoryLimit?.()].filter((n): n is number => n !== undefined);
    return limits.length ? { memoryBudgetBytes: Math.min(...limits) } : {};
  }

  /** `--engine` names an engine of this app, or auto. */
  function checkEngineRequest(request: EngineRequest | undefined): void {
    if (request !== undefined && request !== 'auto' && !engines.get(request)) throw new InvalidOptionError('--engine', `no engine "${request}"; use auto or one of ${engines.ids.join(', ')}`);
  }

  async function openModel(options: OpenRunnerOptions = {}): Promise<{ model: LoadedModel; resolved: ResolvedModel }> {
    checkEngineRequest(options.engine);
    const spec = await resolver.resolveSpec(options.model, options.signal);
    const loadOptions = {
      contextSize: options.contextSize ?? DEFAULT_CONTEXT_SIZE,
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.decodeThreads ? { decodeThreads: options.decodeThreads } : {}),
      ...(options.parallel ? { sequences: options.parallel } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.tokenizer !== undefined ? { tokenizerPath: options.tokenizer } : {}),
      ...memoryBudget(options.memoryBudgetBytes),
    };
    if (spec.kind === 'model') {
      const startedAt = performanceClock.now();
      const plan = await planModel(spec.artifacts, options);
      const model = await loadFirstRunnable(plan, {
        load: loadOptions,
        model: spec.model,
        startedAt,
        clock: performanceClock,
        engines,
        onAttempt: (a) => config.progress.log(`${spec.model}: ${a.artifact} on ${a.target} ${a.outcome}: ${a.reason}`),
      });
      const used = spec.artifacts.find((a) => a.manifest.id === model.backend.artifact?.id)!;
      return { model, resolved: { path: used.path, id: used.manifest.id, source: 'cache' } };
    }
    const { resolved } = spec;
    const file = await openModelFile(engines, resolved.path, modelKey);
    const request = options.engine ?? 'auto';
    if (request !== 'auto' && request !== file.entry.id) {
      throw new InvalidOptionError('--engine', `${resolved.path} is ${file.entry.fileKind}, which the ${request} engine cannot run; use --engine ${file.entry.id} or auto`);
    }
    const model = await file.entry.engine.load({ ...loadOptions, modelPath: resolved.path, header: file.header, target: options.backend ?? 'auto' });
    return { model, resolved };
  }

  /**
   * The order to try a model's artifacts on this device: what each needs is
   * read from its file, what the device has is detected. `--engine` keeps
   * one engine's artifacts; `--backend` other than auto becomes the priority.
   */
  async function planModel(installed: readonly InstalledModel[], options: OpenModelOptions = {}, detected?: DeviceProfile): Promise<ArtifactPlan> {
    const [reads, device] = await Promise.all([Promise.all(installed.map((model) => readArtifact(engines, model, modelKey))), detected ?? detectDevice()]);
    const artifacts: Artifact[] = [];
    const leftOut: ArtifactPlan['skipped'] = [];
    for (const read of reads) {
      if ('problem' in read) leftOut.push({ artifact: read.id, backend: 'any', reason: `unreadable: ${read.problem}` });
      else {
        const targets = read.artifact.targets.filter((t) => !options.engine || options.engine === 'auto' || t.engine === options.engine);
        if (targets.length) artifacts.push({ ...read.artifact, targets });
        else leftOut.push({ artifact: read.artifact.id, backend: 'any', reason: `--engine ${options.engine} cannot run a ${read.artifact.format}` });
      }
    }
    const priority = options.backend && options.backend !== 'auto' ? [options.backend] : (options.priority ?? DEFAULT_PRIORITY);
    const plan = planArtifacts(artifacts, device, priority);
    return { candidates: plan.candidates, skipped: [...leftOut, ...plan.skipped] };
  }

  const grammars = createXgrammarCompiler();
  /** One watcher of the thermal zones for every runner of this app, started with the first. */
  const thermal = once(() => thermalMonitor(config.thermalRoot ?? DEFAULT_THERMAL_ROOT));

  async function openRunner(options: OpenRunnerOptions = {}): Promise<ModelRunner> {
    const { model } = await openModel(options);
    // A memory budget may have cut the sequences: the runner serves what was loaded.
    return new ModelRunner(model, model.memoryFit?.sequences ?? options.parallel ?? 1, { memory, clock: performanceClock, grammars, thermal: thermal(), onWarning: config.onWarning, ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}), ...(options.onAnswer ? { onAnswer: options.onAnswer } : {}), ...(options.ttftBudgetMs !== undefined ? { ttftBudgetMs: options.ttftBudgetMs } : {}) });
  }

  /** A chat on its own runner; `session.runner.close()` unloads the model. */
  async function openChat(options: OpenChatOptions = {}): Promise<ChatSession> {
    const runner = await openRunner(options);
    return new ChatSession(runner, {
      ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}),
      ...(options.defaults ? { defaults: options.defaults } : {}),
    });
  }

  const models = createModelManager({ cache, resolver, engines, modelKey });
  const exportModel = (request: ExportRequest) => exportFromConfig({ cache, resolver, modelKey }, request);
  const bundle = (request: BundleRequest) => makeBundle({ cache, modelKey }, request);

  return { config, cache, resolver, engines, memory, thermal, models, exportModel, bundle, openModel, openRunner, openChat, onEngineRestart, planModel };
}

export type App = ReturnType<typeof createApp>;
