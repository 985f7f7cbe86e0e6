import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidOptionError } from '../../core/errors.js';
import { SyntheticCheckpointError } from './synthetic-checkpoint.js';
import { PYTHON_DIR, pythonEnv, type Toolchain } from './toolchain.js';

/** llama.cpp's converter as the llama-cpp-python source distribution on PyPI vendors it. */
const CONVERTER = { package: 'llama-cpp-python', version: '0.3.16' };
/** The converter imports it at the top (for Mistral's tokenizers); installed beside it, not in the pinned venv. */
const MISTRAL_COMMON = 'mistral-common==1.8.3';
/** What the converter writes itself; Q4 types need llama-quantize, which no registry ships. */
export const GGUF_TYPES = ['f32', 'f16', 'bf16', 'q8_0'] as const;

function run(python: string, args: string[], log: (line: string) => void, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new SyntheticCheckpointError('convert to GGUF', `${args.slice(0, 3).join(' ')} exited ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`))));
    log(`${args.slice(0, 4).join(' ')} ...`);
  });
}

/** Fetches the converter into `<tools>` once (pip download of the sdist, two folders of it kept). */
async function ensureConverter(toolchain: Toolchain, tools: string, log: (line: string) => void): Promise<{ converter: string; deps: string }> {
  const source = join(tools, `llama_cpp_python-${CONVERTER.version}`);
  const converter = join(source, 'vendor/llama.cpp');
  if (!existsSync(join(converter, 'convert_hf_to_gguf.py'))) {
    await run(toolchain.python, ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', `${CONVERTER.package}==${CONVERTER.version}`, '-d', tools], log);
    const archive = join(tools, `llama_cpp_python-${CONVERTER.version}.tar.gz`);
    const inner = `llama_cpp_python-${CONVERTER.version}/vendor/llama.cpp`;
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['xzf', archive, '-C', tools, `${inner}/convert_hf_to_gguf.py`, `${inner}/gguf-py`], { stdio: 'ignore' });
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new SyntheticCheckpointError('fetch the GGUF converter', `tar exited ${code} unpacking ${archive}`))));
    });
  }
  const deps = join(tools, 'gguf-deps');
  if (!existsSync(join(deps, 'mistral_common'))) await run(toolchain.python, ['-m', 'pip', 'install', '--target', deps, MISTRAL_COMMON], log);
  return { converter, deps };
}

/** A synthetic checkpoint as a GGUF, by llama.cpp's own converter; written whole or not at all. */
export async function syntheticToGguf(toolchain: Toolchain, request: { checkpoint: string; out: string; type: string; toolsDir: string }, log: (line: string) => void): Promise<string> {
  if (!(GGUF_TYPES as readonly string[]).includes(request.type)) throw new InvalidOptionError('--type', `"${request.type}" is not one of ${GGUF_TYPES.join(', ')}`);
  if (!existsSync(join(request.checkpoint, 'synthetic.json'))) throw new InvalidOptionError('--checkpoint', `${request.checkpoint} is not a synthetic checkpoint (no synthetic.json)`);
  const { converter, deps } = await ensureConverter(toolchain, request.toolsDir, log);
  const part = `${request.out}.part`;
  try {
    await run(toolchain.python, ['-m', 'onboard_executorch.synthetic.gguf', converter, deps, request.checkpoint, part, request.type], log, PYTHON_DIR);
    await rename(part, request.out);
  } finally {
    await rm(part, { force: true });
  }
  return request.out;
}
