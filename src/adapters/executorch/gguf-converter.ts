import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidOptionError } from '../../core/errors.js';
import { CommandFailedError, runCommand } from '../system/run-command.js';
import { SyntheticCheckpointError } from './synthetic-checkpoint.js';
import { PYTHON_DIR, pythonEnv, type Toolchain } from './toolchain.js';

/** llama.cpp's converter as the llama-cpp-python source distribution on PyPI vendors it. */
const CONVERTER = { package: 'llama-cpp-python', version: '0.3.16' };
/** The converter imports it at the top (for Mistral's tokenizers); installed beside it, not in the pinned venv. */
const MISTRAL_COMMON = 'mistral-common==1.8.3';
/** What the converter writes itself; Q4 types need llama-quantize, which no registry ships. */
export const GGUF_TYPES = ['f32', 'f16', 'bf16', 'q8_0'] as const;

/** One step, through the shared command runner; a failure says which step and how its output ended. */
async function step(what: string, command: string, args: string[], log: (line: string) => void, cwd?: string): Promise<void> {
  log(`${basename(command)} ${args.slice(0, 3).join(' ')} ...`);
  try {
    await runCommand(command, args, { env: pythonEnv(), ...(cwd ? { cwd } : {}) });
  } catch (error) {
    const tail = error instanceof CommandFailedError ? error.tail.trim().split('\n').slice(-3).join(' | ') : '';
    throw new SyntheticCheckpointError(what, `${(error as Error).message}${tail ? `: ${tail}` : ''}`);
  }
}

/** Fetches the converter into `<tools>` once (pip download of the sdist, two folders of it kept). */
async function ensureConverter(toolchain: Toolchain, tools: string, log: (line: string) => void): Promise<{ converter: string; deps: string }> {
  const source = join(tools, `llama_cpp_python-${CONVERTER.version}`);
  const converter = join(source, 'vendor/llama.cpp');
  if (!existsSync(join(converter, 'convert_hf_to_gguf.py'))) {
    await step('fetch the GGUF converter', toolchain.python, ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', `${CONVERTER.package}==${CONVERTER.version}`, '-d', tools], log);
    const inner = `llama_cpp_python-${CONVERTER.version}/vendor/llama.cpp`;
    await step('fetch the GGUF converter', 'tar', ['xzf', join(tools, `llama_cpp_python-${CONVERTER.version}.tar.gz`), '-C', tools, `${inner}/convert_hf_to_gguf.py`, `${inner}/gguf-py`], log);
  }
  const deps = join(tools, 'gguf-deps');
  if (!existsSync(join(deps, 'mistral_common'))) await step('fetch the GGUF converter', toolchain.python, ['-m', 'pip', 'install', '--target', deps, MISTRAL_COMMON], log);
  return { converter, deps };
}

/** A synthetic checkpoint as a GGUF, by llama.cpp's own converter; written whole or not at all. */
export async function syntheticToGguf(toolchain: Toolchain, request: { checkpoint: string; out: string; type: string; toolsDir: string }, log: (line: string) => void): Promise<string> {
  if (!(GGUF_TYPES as readonly string[]).includes(request.type)) throw new InvalidOptionError('--type', `"${request.type}" is not one of ${GGUF_TYPES.join(', ')}`);
  if (!existsSync(join(request.checkpoint, 'synthetic.json'))) throw new InvalidOptionError('--checkpoint', `${request.checkpoint} is not a synthetic checkpoint (no synthetic.json)`);
  const { converter, deps } = await ensureConverter(toolchain, request.toolsDir, log);
  const part = `${request.out}.part`;
  try {
    await step('convert to GGUF', toolchain.python, ['-m', 'onboard_executorch.synthetic.gguf', converter, deps, request.checkpoint, part, request.type], log, PYTHON_DIR);
    await rename(part, request.out);
  } finally {
    await rm(part, { force: true });
  }
  return request.out;
}
