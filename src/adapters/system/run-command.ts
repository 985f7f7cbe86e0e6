import { spawn } from 'node:child_process';

/** A command that could not start (`exitCode` null) or ended with a non-zero code; `tail` is the end of its output. */
export class CommandFailedError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly tail: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Runs a command to its end, handing each non-empty line of its output (stdout and stderr)
 * to `onLine`. Rejects with CommandFailedError, keeping the last 3000 characters of output.
 */
export function runCommand(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...(options.cwd ? { cwd: options.cwd } : {}), env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-3000);
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => reject(new CommandFailedError(null, tail, `cannot run ${command}: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new CommandFailedError(code, tail, `\`${command} ${args.join(' ')}\` exited with ${code}`));
    });
  });
}
