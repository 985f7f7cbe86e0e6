import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configFromEnv, createApp, type App } from '../src/app/composition.js';
import type { LoadedModel } from '../src/core/engine.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const cliPath = fileURLToPath(new URL('../dist/entry/cli/main.js', import.meta.url));

let app: App | undefined;
export function testApp(): App {
  return (app ??= createApp(configFromEnv()));
}

let modelPath: Promise<string> | undefined;
/** The default model, fetched into the user's cache by the real resolver on first use. */
export function defaultModelPath(): Promise<string> {
  return (modelPath ??= testApp()
    .resolver.resolve()
    .then((resolved) => resolved.path));
}

export async function loadDefaultModel(contextSize = 2048): Promise<LoadedModel> {
  return testApp().engines.get('llamacpp')!.engine.load({ modelPath: await defaultModelPath(), contextSize, target: 'cpu' });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** An expected failure: its code in brackets, a hint, the documented exit code, no stack trace. */
export function assertFriendly(result: CliResult, code: string, exitCode: number): void {
  assert.equal(result.code, exitCode, `exit code; stderr: ${result.stderr}`);
  assert.match(result.stderr, new RegExp(`\\[${code}\\]`));
  assert.match(result.stderr, /hint: /);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace for an expected failure');
}

export interface ServerProcess {
  url: string;
  child: import('node:child_process').ChildProcess;
  /** Graceful stop (SIGTERM); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `onboard serve` as a real process on a free port and waits until the model is ready. */
export async function startServerProcess(args: string[], env: NodeJS.ProcessEnv = {}, waitForReady = true): Promise<ServerProcess> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--backend', 'cpu', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const match = /at (http:\/\/\S+?)\s/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output}`)));
    // unref: a pending timer would keep the test process alive for a minute after its tests end.
    setTimeout(() => reject(new Error(`server did not start: ${output}`)), 60_000).unref();
  });
  const until = Date.now() + 120_000;
  while (waitForReady && (await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > until) throw new Error(`model not ready: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    child,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Reads server-sent events from a fetch response (the benchmarks' reader). */
export { sseEvents as readEvents } from '../src/bench/serve-process.js';

/** The .pte `onboard export` makes from the default model (cached by its config and source), with the native runtime set up. */
export async function exportedPte(): Promise<string> {
  const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`, '--json'], { timeoutMs: 45 * 60_000 });
  assert.equal(exported.code, 0, exported.stderr);
  await setupNativeRuntime({ log: () => {} });
  return JSON.parse(exported.stdout).model.path as string;
}
