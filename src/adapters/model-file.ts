import { NotAModelFileError } from '../core/errors.js';
import { describeForeignFile, readFileHead } from './files/file-checks.js';
import { readGguf, type GgufSummary } from './gguf/reader.js';
import { looksLikePte, readPte, type PteSummary } from './pte/reader.js';

export type ModelFileSummary = ({ format: 'gguf' } & GgufSummary) | PteSummary;

/** Reads any model file we know by its first bytes, never by its name. */
export async function inspectModelFile(path: string): Promise<ModelFileSummary> {
  const { head } = await readFileHead(path, 16);
  if (head.subarray(0, 4).toString('latin1') === 'GGUF') return { format: 'gguf', ...(await readGguf(path)) };
  if (looksLikePte(head)) return readPte(path);
  throw new NotAModelFileError(path, describeForeignFile(head), 'a GGUF model or an ExecuTorch .pte program');
}
