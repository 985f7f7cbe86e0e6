import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolchainMissingError } from '../../core/errors.js';
import { pathExists } from '../files/file-checks.js';
import { runCommand, type CommandFailedError } from '../system/run-command.js';
import { userCacheDir } from '../system/user-cache.js';

/** The package root: dist/adapters/executorch or src/adapters/executorch, three levels up. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const PYTHON_DIR = join(PACKAGE_ROOT, 'python');
export const REQUIREMENTS_FILE = join(PYTHON_DIR, 'requirements.txt');
const STAMP_FILE = 'onboard-requirements.sha256';

export interface Toolchain {
  venvDir: string;
  python: string;
}

export type ToolchainState =
  | { state: 'ready'; venvDir: string; python: string }
  | { state: 'missing' | 'outdated'; venvDir: string; reason: string };

/**
 * `$ONBOARD_VENV`, else `toolchain/venv-<requirements hash>` in the user's onboard cache folder
 * (where the model cache lives by default): per user, shared by every checkout and install of onboard that pins the same packages (about
 * 4 GB, so it is not paid again per install), while an install pinning others gets its own.
 */
export function venvDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ONBOARD_VENV) return resolve(env.ONBOARD_VENV);
  return join(userCacheDir(env), 'toolchain', `venv-${requirements().sha256.slice(0, 12)}`);
}

let pinned: { text: string; sha256: string } | undefined;

/** python/requirements.txt and its sha256, read once per process: it ships with the package and does not change under it. */
export function requirements(): { text: string; sha256: string } {
  if (!pinned) {
    const bytes = readFileSync(REQUIREMENTS_FILE);
    pinned = { text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return pinned;
}

/** Cheap check (no Python started): the venv exists and was set up from the current requirements file. */
export async function toolchainState(env: NodeJS.ProcessEnv = process.env): Promise<ToolchainState> {
  const dir = venvDir(env);
  const python = join(dir, 'bin', 'python');
  if (!(await pathExists(python))) return { state: 'missing', venvDir: dir, reason: `no virtual environment at ${dir}` };
  const stamp = await readFile(join(dir, STAMP_FILE), 'utf8').catch(() => '');
  if (stamp.trim() !== requirements().sha256) return { state: 'outdated', venvDir: dir, reason: `${dir} was not set up from the current python/requirements.txt` };
  return { state: 'ready', venvDir: dir, python };
}

export async function requireToolchain(env: NodeJS.ProcessEnv = process.env): Promise<Toolchain> {
  const state = await toolchainState(env);
  if (state.state !== 'ready') throw new ToolchainMissingError(state.reason);
  return state;
}

/**
 * Creates or updates the venv from python/requirements.txt. Safe to re-run:
 * pip skips what is installed and reuses its download cache (~/.cache/pip).
 * The stamp is written only after pip succeeds.
 */
export async function setupToolchain(options: { env?: NodeJS.ProcessEnv; log: (line: string) => void; systemPython?: string }): Promise<Toolchain> {
  const env = options.env ?? process.env;
  const dir = venvDir(env);
  const python = join(dir, 'bin', 'python');
  if (!(await pathExists(python))) {
    options.log(`creating the virtual environment ${dir}`);
    await runLogged(options.systemPython ?? 'python3', ['-m', 'venv', dir], options.log, env);
  }
  options.log(`installing ${REQUIREMENTS_FILE} (executorch, torch, transformers; the first time downloads about 4 GB into pip's cache)`);
  await runLogged(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', REQUIREMENTS_FILE], options.log, env);
  await writeFile(join(dir, STAMP_FILE), `${requirements().sha256}\n`);
  return { venvDir: dir, python };
}

/** The ready toolchain, set up first when it is missing or outdated (saying why through `log`). */
export async function ensureToolchain(log: (line: string) => void): Promise<Toolchain> {
  const state = await toolchainState();
  if (state.state === 'ready') return state;
  log(`The ExecuTorch toolchain is not ready (${state.reason}); setting it up now (onboard setup executorch).`);
  return setupToolchain({ log });
}

/** The environment a Python tool runs with: our package on the path, no user site-packages. */
export function pythonEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PYTHONPATH: PYTHON_DIR, PYTHONNOUSERSITE: '1', PYTHONUNBUFFERED: '1' };
}

async function runLogged(command: string, args: string[], log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    // pip lists every satisfied requirement on a re-run; only what it does is worth a line.
    await runCommand(command, args, { env, onLine: (line) => {
        if (!line.startsWith('Requirement already satisfied')) log(line);
      },
    });
  } catch (error) {
    const failed = error as CommandFailedError;
    throw new ToolchainMissingError(failed.exitCode === null ? failed.message : `${failed.message}: ${failed.tail.trim().split('\n').slice(-3).join(' | ')}`);
  }
}
