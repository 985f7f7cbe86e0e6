import { makeSyntheticCheckpoint, SYNTHETIC_ARCHITECTURES, type SyntheticCheckpoint, type SyntheticRequest } from '../adapters/executorch/synthetic-checkpoint.js';
import { ensureToolchain } from '../adapters/executorch/toolchain.js';

export { SYNTHETIC_ARCHITECTURES, type SyntheticCheckpoint, type SyntheticRequest };

/** `onboard dev make-checkpoint`: sets the ExecuTorch toolchain up when missing, then writes the checkpoint. */
export async function makeSynthetic(request: SyntheticRequest, log: (line: string) => void): Promise<SyntheticCheckpoint> {
  return makeSyntheticCheckpoint(await ensureToolchain(log), request);
}
