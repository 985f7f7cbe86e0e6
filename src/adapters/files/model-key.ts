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

/** Where a key comes from: a file named by a flag (or its variable), else the key itself in a variable. */
interface KeySource {
  fileVariable: string;
  flag: string;
  valueVariable: string;
}

function keyFromEnv(source: KeySource, env: NodeJS.ProcessEnv): Buffer | undefined {
  const file = env[source.fileVariable];
  if (file) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new ModelKeyInvalidError(`${source.flag} ${file}`, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
    }
    return parseModelKey(bytes, `${source.flag} ${file}`);
  }
  const value = env[source.valueVariable];
  return value ? parseModelKey(Buffer.from(value), source.valueVariable) : undefined;
}

/** The model key from `--key-file` (ONBOARD_MODEL_KEY_FILE), else ONBOARD_MODEL_KEY; undefined when neither is set. */
export function modelKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  return keyFromEnv({ fileVariable: 'ONBOARD_MODEL_KEY_FILE', flag: '--key-file', valueVariable: 'ONBOARD_MODEL_KEY' }, env);
}

/** The conversation database's key from `--db-key-file` (ONBOARD_DB_KEY_FILE), else ONBOARD_DB_KEY; undefined: not encrypted. */
export function databaseKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  return keyFromEnv({ fileVariable: 'ONBOARD_DB_KEY_FILE', flag: '--db-key-file', valueVariable: 'ONBOARD_DB_KEY' }, env);
}
