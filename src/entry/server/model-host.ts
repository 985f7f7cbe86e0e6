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

  constructor(load: () => Promise<ModelRunner>) {
    this.ready = load().then(
      (runner) => {
        this.runner = runner;
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
}
