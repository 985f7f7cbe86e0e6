import { access, readFile, stat } from 'node:fs/promises';
import { withModelBytes } from './model-bytes.js';

/** Signatures of files people mistake for models, so the error can say what the file is. */
const KNOWN_SIGNATURES: ReadonlyArray<{ bytes: number[]; name: string }> = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], name: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], name: 'a JPEG image' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], name: 'a ZIP archive (a PyTorch checkpoint or a wheel?)' },
  { bytes: [0x25, 0x50, 0x44, 0x46], name: 'a PDF document' },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], name: 'an ELF executable' },
  { bytes: [0x1f, 0x8b], name: 'a gzip archive (unpack it first)' },
  { bytes: [0x3c], name: 'an HTML or XML page (a failed download?)' },
  { bytes: [0x7b], name: 'a JSON file' },
];

/** The first bytes of a model file, after checking it exists, is a file and is readable. */
export async function readFileHead(path: string, length: number): Promise<{ head: Buffer; size: number }> {
  return withModelBytes(path, async (bytes) => ({ head: await bytes.read(0, length), size: bytes.size }));
}

/** A file larger than what its kind can hold: refused before it is read into memory. */
export class FileTooLargeError extends Error {
  constructor(readonly size: number, readonly maxBytes: number) {
    super(`${size} bytes, more than the ${maxBytes} such a file can hold`);
  }
}

/** A regular file's text, refused (FileTooLargeError) past `maxBytes`; fs errors (ENOENT...) pass through. */
export async function readTextAtMost(path: string, maxBytes: number): Promise<string> {
  const info = await stat(path);
  if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EISDIR' });
  if (info.size > maxBytes) throw new FileTooLargeError(info.size, maxBytes);
  return readFile(path, 'utf8');
}

/** Whether a path exists and is reachable, without throwing. */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function describeForeignFile(head: Buffer): string {
  // .pte programs are FlatBuffers whose file identifier "ET" + version sits at offset 4.
  if (head.subarray(4, 6).toString('latin1') === 'ET') return 'an ExecuTorch .pte program, which the llama.cpp engine cannot run';
  for (const { bytes, name } of KNOWN_SIGNATURES) {
    if (bytes.every((b, i) => head[i] === b)) return `it is ${name}`;
  }
  const magic = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unknown format, first bytes ${magic}`;
}
