import { readFileSync } from 'node:fs';
import { ModelKeyInvalidError } from '../../core/errors.js';

/** AES-256: the key is 32 bytes. */
export const MODEL_KEY_BYTES = 32;

/**
 * The 32-byte key for models encrypted at rest, from text (64 hex digits or
 * base64) or, for a key file, also 32 raw bytes. Anything else is refused:
 * a key is never stretched or padded, so a typo cannot make a weak key.
 */
export function parseModelKey(bytes: Buffer, source: string): Buffer {
  if (bytes.length === MODEL_KEY_BYTES && !/^[\x20-\x7e]*$/.test(bytes.toString('latin1'))) return Buffer.from(bytes);
  const text = bytes.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  throw new ModelKeyInvalidError(source, `expected 64 hex digits, 44 base64 characters or 32 raw bytes, got ${bytes.length} bytes`);
}

/** The model key from `--key-file` (ONBOARD_MODEL_KEY_FILE), else ONBOARD_MODEL_KEY; undefined when neither is set. */
export function modelKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  const file = env.ONBOARD_MODEL_KEY_FILE;
  if (file) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new ModelKeyInvalidError(`--key-file ${file}`, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
    }
    return parseModelKey(bytes, `--key-file ${file}`);
  }
  if (env.ONBOARD_MODEL_KEY) return parseModelKey(Buffer.from(env.ONBOARD_MODEL_KEY), 'ONBOARD_MODEL_KEY');
  return undefined;
}
