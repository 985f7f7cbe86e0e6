import { join } from 'node:path';
import { makeSyntheticCheckpoint, SYNTHETIC_ARCHITECTURES, type SyntheticCheckpoint, type SyntheticRequest } from '../adapters/executorch/synthetic-checkpoint.js';
import { GGUF_TYPES, syntheticToGguf } from '../adapters/executorch/gguf-converter.js';
import { ensureToolchain } from '../adapters/executorch/toolchain.js';
import { configFromEnv } from './composition.js';

export { GGUF_TYPES, SYNTHETIC_ARCHITECTURES, type SyntheticCheckpoint, type SyntheticRequest };

/** `onboard dev make-checkpoint`: sets the ExecuTorch toolchain up when missing, then writes the checkpoint. */
export async function makeSynthetic(request: SyntheticRequest, log: (line: string) => void): Promise<SyntheticCheckpoint> {
  return makeSyntheticCheckpoint(await ensureToolchain(log), request);
}

/** `onboard dev to-gguf`: the checkpoint as a GGUF for the llama.cpp engine, by llama.cpp's converter (fetched once into `<cache>/tools`). */
export async function syntheticGguf(request: { checkpoint: string; out: string; type: string }, log: (line: string) => void): Promise<string> {
  const toolchain = await ensureToolchain(log);
  return syntheticToGguf(toolchain, { ...request, toolsDir: join(configFromEnv().cacheDir, 'tools') }, log);
}
