import { InvalidModelIdError } from './errors.js';

/**
 * The one grammar for anything that names a folder or file in the model cache:
 * model ids, artifact ids, manifest file names, export output names. It starts
 * with a letter or digit (so never "", "." or ".."), holds no separator, NUL or
 * control character, and is short enough for every filesystem.
 */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MODEL_ID_RULE = 'a letter or digit, then up to 127 letters, digits, ".", "_" or "-"';

export function isModelId(value: string): boolean {
  return MODEL_ID_PATTERN.test(value);
}

/** The id itself when it follows the grammar; a typed error naming `what` otherwise. */
export function assertModelId(value: string, what = 'model id'): string {
  if (!isModelId(value)) throw new InvalidModelIdError(value, what, MODEL_ID_RULE);
  return value;
}
