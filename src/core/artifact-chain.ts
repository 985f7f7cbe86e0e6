import type { ArtifactPlan, PlannedAttempt } from './artifact-plan.js';
import type { Clock, EngineSequence, LoadedModel, LoadOptions } from './engine.js';
import type { EngineRegistry } from './engine-registry.js';
import { CancelledError, NoRunnableArtifactError, OnboardError } from './errors.js';
import { resolveSampling } from './sampling.js';
import type { ArtifactAttempt, ArtifactChoice, BackendChoice } from './types.js';

export interface ChainOptions {
  /** What every candidate is loaded with; the chain adds the file, its header and the target. */
  load: Omit<LoadOptions, 'modelPath' | 'target' | 'header'>;
  /** The model's name, for messages. */
  model: string;
  engines: EngineRegistry;
  /** Called once per attempt, as it happens (the CLI and server log it). */
  onAttempt?: (attempt: ArtifactAttempt) => void;
  clock: Clock;
  /** When choosing began (clock.now()), so the load time counts detection and planning too. */
  startedAt?: number;
}

/**
 * Walks a plan: loads each candidate in turn and runs its first forward (one
 * token), because a program can load and still fail on its first call. The
 * first that passes is used; a failure is recorded and the next is tried.
 */
export async function loadFirstRunnable(plan: ArtifactPlan, options: ChainOptions): Promise<LoadedModel> {
  const attempts: ArtifactAttempt[] = plan.skipped.map((s) => ({ artifact: s.artifact, target: s.backend, outcome: 'skipped', reason: s.reason }));
  for (const attempt of attempts) options.onAttempt?.(attempt);
  const started = options.startedAt ?? options.clock.now();
  for (const candidate of plan.candidates) {
    if (options.load.signal?.aborted) throw new CancelledError('Model loading');
    const { artifact, target } = candidate;
    let model: LoadedModel | undefined;
    try {
      const engine = options.engines.get(target.engine);
      if (!engine) throw new Error(`no engine ${target.engine} in this app`);
      model = await engine.engine.load({
        ...options.load,
        modelPath: artifact.path,
        ...(artifact.header !== undefined ? { header: artifact.header } : {}),
        target: target.backend,
        requestedBy: `chosen for ${artifact.id}: ${candidate.reason}`,
      });
      await probeFirstForward(model);
      const used: ArtifactAttempt = { artifact: artifact.id, target: target.backend, outcome: 'used', reason: candidate.reason };
      attempts.push(used);
      options.onAttempt?.(used);
      return new ChosenArtifactModel(model, choiceFor(candidate, engine.engine.name, attempts), Math.round(options.clock.now() - started));
    } catch (error) {
      await model?.unload().catch(() => {});
      if (error instanceof CancelledError) throw error;
      const reason = error instanceof OnboardError ? `${error.code}: ${error.message}` : `${(error as Error).message ?? error}`;
      const failed: ArtifactAttempt = { artifact: artifact.id, target: target.backend, outcome: 'failed', reason: `${model ? 'first forward' : 'load'} failed: ${reason}` };
      attempts.push(failed);
      options.onAttempt?.(failed);
    }
  }
  throw new NoRunnableArtifactError(
    options.model,
    attempts.map((a) => `${a.artifact} (${a.target}) ${a.outcome}: ${a.reason}`),
  );
}

function choiceFor(candidate: PlannedAttempt, engine: string, attempts: readonly ArtifactAttempt[]): ArtifactChoice {
  const passed = attempts.filter((a) => a.outcome !== 'used').map((a) => `${a.artifact} (${a.target}) ${a.outcome}: ${a.reason}`);
  const head = `${candidate.artifact.id} (${candidate.artifact.format}, ${engine} on ${candidate.target.backend}), ${candidate.reason}`;
  return {
    id: candidate.artifact.id,
    format: candidate.artifact.format,
    target: candidate.target.backend,
    reason: passed.length ? `${head}; passed over: ${passed.join('; ')}` : head,
    attempts: [...attempts],
  };
}

/** One token through a fresh sequence, then the sequence is cleared and given back. */
async function probeFirstForward(model: LoadedModel): Promise<void> {
  const sequence: EngineSequence = model.createSequence();
  try {
    const first = model.info.bosTokenId ?? model.tokenize('Hello', { special: false })[0];
    if (first === undefined) throw new Error('the tokenizer gives no token for "Hello"');
    const generation = await sequence.begin([first], resolveSampling({ temperature: 0 }));
    const step = await generation.tokens.next();
    await generation.tokens.return?.();
    if (step.done || !Number.isInteger(step.value) || step.value < 0 || step.value >= Math.max(model.info.vocabularySize, 1)) {
      throw new Error(`the first forward gave no valid token (${step.done ? 'none' : step.value})`);
    }
    await sequence.clear();
  } finally {
    sequence.dispose();
  }
}

/** The loaded model, with the chain's choice added to its backend report. */
class ChosenArtifactModel implements LoadedModel {
  readonly backend: BackendChoice;

  constructor(
    private readonly inner: LoadedModel,
    artifact: ArtifactChoice,
    /** The whole choice's time (detection, planning, failed attempts included): what the user waited. */
    readonly loadMs: number,
  ) {
    this.backend = { ...inner.backend, artifact };
  }

  get engine() {
    return this.inner.engine;
  }
  get info() {
    return this.inner.info;
  }
  get contextSize() {
    return this.inner.contextSize;
  }
  get memoryFit() {
    return this.inner.memoryFit;
  }
  get threadUse() {
    return this.inner.threadUse?.bind(this.inner);
  }
  tokenize(text: string, options: { special: boolean }) {
    return this.inner.tokenize(text, options);
  }
  detokenize(tokens: readonly number[]) {
    return this.inner.detokenize(tokens);
  }
  isEndOfGeneration(token: number) {
    return this.inner.isEndOfGeneration(token);
  }
  createSequence() {
    return this.inner.createSequence();
  }
  unload() {
    return this.inner.unload();
  }
}
