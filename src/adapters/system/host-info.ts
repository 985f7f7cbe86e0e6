import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** CPU flags that decide which llama.cpp kernels run fast. */
const INTERESTING_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_tile', 'asimd', 'sve'];

export interface HostInfo {
  node: string;
  platform: string;
  cpu: { model: string; logicalCores: number; features: string[] };
  memory: { totalBytes: number; availableBytes: number };
}

export async function hostInfo(): Promise<HostInfo> {
  const flags = await readFile('/proc/cpuinfo', 'utf8').then(
    (text) => new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/)),
    () => new Set<string>(),
  );
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: { model: cpus()[0]?.model ?? 'unknown', logicalCores: cpus().length, features: INTERESTING_FLAGS.filter((f) => flags.has(f)) },
    memory: { totalBytes: totalmem(), availableBytes: freemem() },
  };
}

export interface PythonInfo {
  python: string;
  version?: string;
  executorch?: string;
  problem?: string;
}

/** The toolchain's Python (the venv when present, else the system's) and its executorch version. */
export async function pythonInfo(venv: string, fallback = 'python3'): Promise<PythonInfo> {
  const venvPython = join(venv, 'bin', 'python');
  const python = existsSync(venvPython) ? venvPython : fallback;
  try {
    const { stdout } = await run(python, ['--version'], { timeout: 10_000 });
    const version = stdout.trim().replace(/^Python\s+/, '');
    try {
      // Read the installed version without importing executorch (which imports torch: seconds).
      const et = await run(python, ['-c', 'import importlib.metadata as m; print(m.version("executorch"))'], { timeout: 30_000 });
      return { python, version, executorch: et.stdout.trim() };
    } catch {
      return { python, version, problem: 'executorch is not installed in this Python' };
    }
  } catch (error) {
    return { python, problem: `cannot run ${python}: ${(error as Error).message.split('\n')[0]}` };
  }
}
