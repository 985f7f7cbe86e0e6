import { spawn } from 'node:child_process';
import { InvalidOptionError, OnboardError } from '../../core/errors.js';
import { PYTHON_DIR, pythonEnv, type Toolchain } from './toolchain.js';

/** The architectures the synthetic checkpoint maker knows (python/onboard_executorch/synthetic/published.py). */
export const SYNTHETIC_ARCHITECTURES = ['llama3_2', 'smollm2', 'qwen2_5', 'qwen3', 'phi_4_mini', 'lfm2', 'motif'] as const;
export type SyntheticArchitecture = (typeof SYNTHETIC_ARCHITECTURES)[number];

export interface SyntheticRequest {
  arch: string;
  out: string;
  /** Fewer layers than the published model (tests keep 2). */
  layers?: number;
  /** A smaller vocabulary than the published model's. */
  vocab?: number;
  seed?: number;
}

export interface SyntheticCheckpoint {
  synthetic: true;
  architecture: SyntheticArchitecture;
  /** The published model whose configuration it copies. */
  shape_of: string;
  /** The export config's base.model_class for it. */
  model_class: string;
  layers: number;
  vocab_size: number;
  parameters: number;
  seed: number;
  path: string;
}

/** Raised when making a synthetic checkpoint, or its GGUF, fails in Python; its last lines say why. */
export class SyntheticCheckpointError extends OnboardError {
  constructor(what: string, reason: string) {
    super('SYNTHETIC_CHECKPOINT_FAILED', `Could not ${what}: ${reason}`, 'Run `onboard doctor` to check the ExecuTorch toolchain.', { what, reason });
  }
}

function checkRequest(request: SyntheticRequest): void {
  if (!(SYNTHETIC_ARCHITECTURES as readonly string[]).includes(request.arch)) {
    throw new InvalidOptionError('--arch', `"${request.arch}" is not one of ${SYNTHETIC_ARCHITECTURES.join(', ')}`);
  }
  if (request.layers !== undefined && !(Number.isInteger(request.layers) && request.layers >= 1 && request.layers <= 128)) {
    throw new InvalidOptionError('--layers', 'must be a whole number from 1 to 128');
  }
  if (request.vocab !== undefined && !(Number.isInteger(request.vocab) && request.vocab >= 512 && request.vocab <= 262144)) {
    throw new InvalidOptionError('--vocab', 'must be a whole number from 512 to 262144');
  }
}

/**
 * Writes a Hugging Face model directory with a published architecture's configuration, seeded
 * random weights and a tokenizer of the architecture's kind: runs like the real model, says nothing useful.
 */
export async function makeSyntheticCheckpoint(toolchain: Toolchain, request: SyntheticRequest): Promise<SyntheticCheckpoint> {
  checkRequest(request);
  const args = ['-m', 'onboard_executorch.synthetic', request.arch, request.out];
  if (request.layers !== undefined) args.push('--layers', String(request.layers));
  if (request.vocab !== undefined) args.push('--vocab', String(request.vocab));
  if (request.seed !== undefined) args.push('--seed', String(request.seed));
  const child = spawn(toolchain.python, args, { cwd: PYTHON_DIR, env: pythonEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new SyntheticCheckpointError('make the synthetic checkpoint', stderr.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`);
  return JSON.parse(last) as SyntheticCheckpoint;
}
