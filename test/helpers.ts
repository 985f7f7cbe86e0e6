import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configFromEnv, createApp, type App } from '../src/composition.js';
import type { LoadedModel } from '../src/core/engine.js';

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
  return testApp().engine.load({ modelPath: await defaultModelPath(), contextSize, backend: 'cpu' });
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
