// The Hugging Face hub source against a local HTTP server laid out like the hub.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ModelCache } from '../src/adapters/models/cache.js';
import { DEFAULT_MODEL_ID, findCatalogEntry } from '../src/adapters/models/catalog.js';
import { silentProgress } from '../src/adapters/models/progress.js';
import { ModelResolver } from '../src/adapters/models/resolver.js';
import { ChecksumMismatchError, ModelFetchError } from '../src/core/errors.js';
import { defaultModelPath } from './helpers.js';

type Mode = 'drop-once' | 'corrupt' | 'missing';

let server: Server;
let endpoint: string;
let file: Buffer;
let mode: Mode = 'drop-once';
let requests: Array<{ url: string; range: string | undefined }> = [];
const entry = findCatalogEntry(DEFAULT_MODEL_ID)!;
const hubPath = `/${entry.hub.repo}/resolve/${entry.hub.revision}/${entry.hub.path}`;

before(async () => {
  file = await readFile(await defaultModelPath());
  server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', range: req.headers.range });
    if (mode === 'missing' || req.url !== hubPath) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const body = mode === 'corrupt' ? Buffer.concat([file.subarray(0, 1000), Buffer.from([file[1000]! ^ 0xff]), file.subarray(1001)]) : file;
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.length - start), 'accept-ranges': 'bytes', etag: `"${entry.sha256}"` };
    if (start > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    if (mode === 'drop-once' && requests.length === 1) {
      // Send a third of the file, then drop the connection mid-file.
      res.write(body.subarray(0, Math.floor(body.length / 3)), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

let cacheDir: string;
beforeEach(async () => {
  requests = [];
  cacheDir = await mkdtemp(join(tmpdir(), 'onboard-hub-'));
});

function resolverFor(cache: ModelCache): ModelResolver {
  return new ModelResolver({ cache, hubEndpoint: endpoint, python: 'python3', progress: silentProgress, sources: { hub: true, pypi: false } });
}

async function leftovers(cache: ModelCache): Promise<string[]> {
  return readdir(cache.tmpDir).catch(() => []);
}

describe('hub downloads', () => {
  it('resumes with a Range request after the connection drops mid-file, then installs atomically', async () => {
    mode = 'drop-once';
    const cache = new ModelCache(cacheDir);
    const { model, source } = await resolverFor(cache).pull(DEFAULT_MODEL_ID);
    assert.equal(source, 'hub');
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.url, hubPath);
    assert.match(requests[1]!.range ?? '', /^bytes=[1-9]\d*-$/, 'the second request resumes where the first stopped');
    assert.equal(model.manifest.sha256, entry.sha256);
    assert.equal(model.manifest.source.kind, 'hub');
    assert.equal(model.manifest.architecture, 'llama');
    assert.equal(model.manifest.chatTemplate, true);
    assert.deepEqual((await readFile(model.path)).equals(file), true);
    assert.deepEqual(await leftovers(cache), []);
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('a wrong checksum installs nothing and leaves no partial file', async () => {
    mode = 'corrupt';
    const cache = new ModelCache(cacheDir);
    await assert.rejects(resolverFor(cache).pull(DEFAULT_MODEL_ID), ChecksumMismatchError);
    assert.equal(await cache.find(DEFAULT_MODEL_ID), undefined);
    assert.deepEqual((await cache.list()).models, []);
    assert.deepEqual(await leftovers(cache), []);
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('a 404 is a clear fetch error, tried once', async () => {
    mode = 'missing';
    const cache = new ModelCache(cacheDir);
    await assert.rejects(resolverFor(cache).pull(DEFAULT_MODEL_ID), (error: unknown) => {
      assert.ok(error instanceof ModelFetchError);
      assert.match(error.message, /404/);
      return true;
    });
    assert.equal(requests.length, 1);
    assert.equal(await cache.find(DEFAULT_MODEL_ID), undefined);
    await rm(cacheDir, { recursive: true, force: true });
  });
});
