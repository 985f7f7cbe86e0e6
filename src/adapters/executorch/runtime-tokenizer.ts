import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes an exported tokenizer.json loadable by ExecuTorch's C++ tokenizer
 * (pytorch-tokenizers, what the on-device runner uses). transformers writes
 * an empty `{"type": "Sequence", "normalizers": []}` normalizer for GGUF
 * tokenizers, which that loader rejects ("Missing normalizers"); an empty
 * sequence does nothing, so it becomes null. Idempotent; atomic rewrite.
 */
export async function ensureRuntimeTokenizer(dir: string, file = 'tokenizer.json'): Promise<boolean> {
  const path = join(dir, file);
  const tokenizer = JSON.parse(await readFile(path, 'utf8')) as { normalizer?: { type?: string; normalizers?: unknown[] } | null };
  const normalizer = tokenizer.normalizer;
  if (!(normalizer?.type === 'Sequence' && Array.isArray(normalizer.normalizers) && normalizer.normalizers.length === 0)) return false;
  tokenizer.normalizer = null;
  const temp = `${path}.part`;
  await writeFile(temp, JSON.stringify(tokenizer));
  await rename(temp, path);
  return true;
}
