// Teacher-forced top-1 of a .pte on onboard's native runtime: the token ids fed one at a time
// through the KV cache, the most likely next token after each. For `npm run bench:parity` and
// the parity test, beside the Python runtime's figure for the same file.
import { loadNativeAddon } from '../adapters/executorch/native-addon.js';
import { setupNativeRuntime } from '../adapters/executorch/native-runtime.js';
import { argmax } from '../core/logit-sampler.js';

export async function nativeTop1(ptePath: string, ids: readonly number[]): Promise<number[]> {
  const runtime = await setupNativeRuntime({ log: () => {} }); // a no-op when installed
  const addon = loadNativeAddon(runtime.addonPath);
  const program = new addon.Program(ptePath, 1);
  let logits: Float32Array = new Float32Array(0);
  return ids.map((token, position) => {
    logits = program.forward(0, Int32Array.of(token), position, logits);
    return argmax(logits);
  });
}
