import type { ModelRunner } from '../../core/model-runner.js';

export type HostStatus = 'loading' | 'ready' | 'error';

/**
 * The server's model: it starts loading in the background when the server
 * starts (warm-up), so /health answers at once and says when it is ready.
 */
export class ModelHost {
  status: HostStatus = 'loading';
  runner: ModelRunner | undefined;
  error: unknown;
  readonly ready: Promise<ModelRunner | undefined>;

  /**
   * `warmUp` runs after loading and before the host says ready (the server's warm start): the
   * runner is already served to requests then, /health still says loading. Its failure is only reported.
   */
  constructor(load: () => Promise<ModelRunner>, warmUp?: (runner: ModelRunner) => Promise<unknown>, onWarning: (message: string) => void = () => {}) {
    this.ready = load().then(
      async (runner) => {
        this.runner = runner;
        await warmUp?.(runner).catch((error: unknown) => onWarning(`warm start failed: ${(error as Error).message}`));
        this.status = 'ready';
        return runner;
      },
      (error: unknown) => {
        this.error = error;
        this.status = 'error';
        return undefined;
      },
    );
  }

  async close(): Promise<void> {
    await (await this.ready)?.close();
  }

  /** The one description of the served model, for /health and /api/info: its state, where it runs and why, and its load. */
  describe(modelId: string, describeError: (error: unknown) => object) {
    const runner = this.runner;
    const backend = runner?.model.backend;
    return {
      status: this.status,
      model: modelId,
      ...(runner && backend
        ? {
            engine: runner.model.engine,
            backend: backend.backend,
            accelerator: backend.accelerator,
            backendReason: backend.reason,
            ...(backend.artifact ? { artifact: backend.artifact } : {}),
            contextSize: runner.model.contextSize,
            architecture: runner.model.info.architecture,
            queueDepth: runner.queueDepth,
            active: runner.active,
            ...(runner.model.memoryFit
              ? { memory: { budgetBytes: runner.model.memoryFit.budgetBytes, estimateBytes: runner.model.memoryFit.estimate.totalBytes, sequences: runner.model.memoryFit.sequences, changes: runner.model.memoryFit.changes } }
              : {}),
          }
        : {}),
      ...(this.status === 'error' ? { error: describeError(this.error) } : {}),
    };
  }
}
