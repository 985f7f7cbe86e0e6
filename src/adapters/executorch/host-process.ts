import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { NativeRuntime } from './native-runtime.js';
import { PACKAGE_ROOT, PYTHON_DIR, pythonEnv, type Toolchain } from './toolchain.js';


export class HostRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The host died: every request in flight fails with this. */
export class HostExitedError extends Error {}

/** How to start a host: the native one (Node with onboard's addon) or the Python one (torch). */
export interface HostCommand {
  kind: 'native' | 'python';
  command: string;
  args: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

/** Always the compiled script: under tsx (the tests) this module is .ts, and a plain `node` cannot run that. */
const NATIVE_HOST_SCRIPT = join(PACKAGE_ROOT, 'dist', 'adapters', 'executorch', 'native-host.js');

export function nativeHostCommand(runtime: NativeRuntime): HostCommand {
  return { kind: 'native', command: process.execPath, args: [NATIVE_HOST_SCRIPT, runtime.addonPath], env: process.env };
}

export function pythonHostCommand(toolchain: Toolchain): HostCommand {
  return { kind: 'python', command: toolchain.python, args: ['-m', 'onboard_executorch.host'], cwd: PYTHON_DIR, env: pythonEnv() };
}

type Reply = Record<string, unknown> & { id: number; ok: boolean; error?: { code: string; message: string } };

/**
 * One ExecuTorch host process and its JSON-lines channel. Requests are
 * answered in order; when the process exits, pending requests reject with
 * HostExitedError and `exited` resolves.
 */
export class HostProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private stderrTail = '';
  private alive = true;

  /** `onExit` runs when the process ends, before the requests in flight are rejected. */
  constructor(host: HostCommand, onExit?: (reason: string) => void) {
    this.child = spawn(host.command, host.args, { ...(host.cwd ? { cwd: host.cwd } : {}), env: host.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        return; // not ours: a library printed to stdout
      }
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) return waiter.resolve(reply);
      const error = new HostRequestError(reply.error?.code ?? 'HOST_ERROR', reply.error?.message ?? 'unknown host error');
      if (!/OperatorMissing/.test(error.message)) return waiter.reject(error);
      // The runtime names each missing kernel on stderr just before it answers: let that pipe catch up.
      setTimeout(() => {
        const missing = [...new Set([...this.stderrTail.matchAll(/Missing operator: \[\d+\] ([\w:.]+)/g)].map((m) => m[1]))];
        if (missing.length > 0) error.message += `; missing: ${missing.join(', ')}`;
        waiter.reject(error);
      }, 50);
    });
    this.child.stdin.on('error', () => {}); // a write after death; the exit handler reports it
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (!this.alive) return;
        this.alive = false;
        const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
        // The runtime logs info lines to stderr; only an error line says why it died.
        const detail = this.stderrTail.split('\n').filter((line) => /Error|error:/.test(line)).at(-1)?.trim() ?? '';
        onExit?.(reason);
        for (const waiter of this.pending.values()) waiter.reject(new HostExitedError(`the ExecuTorch host ${reason}${detail ? ` (${detail})` : ''}`));
        this.pending.clear();
        resolve({ code, signal });
      };
      this.child.on('exit', finish);
      this.child.on('error', (error) => {
        this.stderrTail += `\n${error.message}`;
        finish(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  request<T extends Record<string, unknown>>(op: string, fields: Record<string, unknown> = {}): Promise<T & Reply> {
    if (!this.alive) return Promise.reject(new HostExitedError('the ExecuTorch host is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (reply: Reply) => void, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }

  /** Closes stdin (the host exits at end of input), then kills it if it lingers. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}
