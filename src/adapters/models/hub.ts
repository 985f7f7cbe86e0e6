import { createWriteStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { ModelFetchError } from '../../core/errors.js';
import type { Progress } from './progress.js';

export interface HubFile {
  repo: string;
  revision: string;
  path: string;
}

export interface HubOptions {
  /** `$HF_ENDPOINT`, else https://huggingface.co. */
  endpoint: string;
  token?: string;
  /** Attempts per file; each resumes where the last one stopped. */
  attempts?: number;
  /** An attempt with no bytes for this long is dropped and retried. */
  idleTimeoutMs?: number;
  progress: Progress;
  signal?: AbortSignal;
}

export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

/** The hub's download URL scheme: `{endpoint}/{repo}/resolve/{revision}/{path}`. */
export function hubFileUrl(endpoint: string, file: HubFile): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${file.repo}/resolve/${encodeURIComponent(file.revision)}/${path}`;
}

class FatalFetch extends Error {}

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED']);

/**
 * Downloads a hub file into `destination`, resuming with HTTP Range requests
 * when the connection drops. The caller checks the checksum and installs.
 */
export async function downloadFromHub(file: HubFile, destination: string, options: HubOptions): Promise<void> {
  const url = hubFileUrl(options.endpoint, file);
  const attempts = options.attempts ?? 5;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) throw new ModelFetchError(url, 'cancelled', failures);
    try {
      await downloadAttempt(url, destination, options);
      options.progress.stop();
      return;
    } catch (error) {
      options.progress.stop();
      if (error instanceof FatalFetch) throw new ModelFetchError(url, error.message, failures);
      const reason = describe(error);
      // An unknown host, or nobody listening on the first try, will not fix itself in seconds.
      if (UNREACHABLE.has(reason) && (reason !== 'ECONNREFUSED' || attempt === 1)) throw new ModelFetchError(url, `hub unreachable (${reason})`, failures);
      failures.push(`attempt ${attempt}: ${describe(error)}`);
      if (attempt < attempts) {
        options.progress.log(`download interrupted (${describe(error)}); resuming (attempt ${attempt + 1} of ${attempts})`);
        await sleep(Math.min(250 * 2 ** (attempt - 1), 4000), options.signal);
      }
    }
  }
  throw new ModelFetchError(url, `gave up after ${attempts} attempts`, failures);
}

async function downloadAttempt(url: string, destination: string, options: HubOptions): Promise<void> {
  const have = await stat(destination).then(
    (s) => s.size,
    () => 0,
  );
  const idle = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  let timer = setTimeout(() => idle.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  const headers: Record<string, string> = { 'user-agent': 'onboard' };
  if (have > 0) headers.range = `bytes=${have}-`;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  try {
    const response = await fetch(url, { headers, signal, redirect: 'follow' });
    if (response.status === 404) throw new FatalFetch('not found (404): check the repository, revision and file name');
    if (response.status === 401 || response.status === 403) throw new FatalFetch(`access denied (${response.status}): set HF_TOKEN for gated or private repositories`);
    if (response.status === 416 && have > 0) return; // the part file is already complete
    if (response.status !== 200 && response.status !== 206) throw new Error(`HTTP ${response.status}`);
    if (!response.body) throw new Error('empty response');

    const resumed = response.status === 206;
    if (!resumed && have > 0) await truncate(destination, 0); // the server ignored the range: start over
    let done = resumed ? have : 0;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = Number.isFinite(length) ? done + length : undefined;
    options.progress.start(resumed ? 'resuming download' : 'downloading', total);
    options.progress.update(done);

    const out = createWriteStream(destination, { flags: resumed ? 'a' : 'w' });
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        done += chunk.byteLength;
        options.progress.update(done);
      }
    } finally {
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    if (total !== undefined && done < total) throw new Error(`connection closed after ${done} of ${total} bytes`);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
