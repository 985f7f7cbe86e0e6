/** How long operations report progress; the CLI draws a bar or prints lines. */
export interface Progress {
  start(label: string, totalBytes: number | undefined): void;
  update(doneBytes: number): void;
  stop(): void;
  /** One line of status for the user. */
  log(message: string): void;
}

export const silentProgress: Progress = {
  start() {},
  update() {},
  stop() {},
  log() {},
};
