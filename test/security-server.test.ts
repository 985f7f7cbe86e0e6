// A hostile web page on the same device, and careless starts: the real server, raw HTTP.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFriendly, runCli, startServerProcess, type ServerProcess } from './helpers.js';

let dir: string;
let server: ServerProcess;
const APP_ORIGIN = 'http://app.example:3000';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-sec-'));
  server = await startServerProcess(['--db', join(dir, 'data', 'conversations.db'), '--cors-origin', APP_ORIGIN, '--body-limit', '1'], {}, false);
});
after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with exactly these headers (fetch would not let us set Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string | Buffer | 'headers-only'): Promise<RawResponse> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, agent: false, headers: { host: url.host, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        req.destroy(); // a refused upload would otherwise keep its socket open
      });
    });
    req.on('error', reject);
    // A refused body is cut off while it is still being sent: that EPIPE is the point, not a failure.
    req.on('socket', (socket) => socket.on('error', () => {}));
    // 'headers-only' declares a body and never sends it: the answer must come from the headers alone.
    if (body === 'headers-only') req.flushHeaders();
    else req.end(body);
  });
}

function errorCode(response: RawResponse): string {
  return (JSON.parse(response.body) as { error: { code: string } }).error.code;
}

describe('DNS rebinding: only our own host names are answered', () => {
  it('a page that rebinds its name to 127.0.0.1 is refused on every route', async () => {
    for (const [method, path] of [['GET', '/api/conversations'], ['GET', '/v1/models'], ['GET', '/health'], ['GET', '/'], ['DELETE', '/api/conversations/x']]) {
      const response = await raw(method!, path!, { host: `attacker.example:${new URL(server.url).port}` });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(errorCode(response), 'host_not_allowed');
    }
  });

  it('loopback names pass', async () => {
    const port = new URL(server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      assert.equal((await raw('GET', '/api/conversations', { host })).status, 200, host);
    }
  });
});

describe('cross-site requests', () => {
  it('a POST from another origin is refused whatever its content type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json']) {
      const response = await raw('POST', '/api/conversations', { origin: 'http://evil.example', 'content-type': type }, '{}');
      assert.equal(response.status, 403, type);
      assert.equal(errorCode(response), 'origin_not_allowed');
    }
    const generation = await raw('POST', '/v1/chat/completions', { origin: 'http://evil.example', 'content-type': 'text/plain' }, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(generation.status, 403);
  });

  it('a body that is not declared JSON is refused even without an Origin', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const response = await raw('POST', '/api/conversations', type ? { 'content-type': type } : {}, '{}');
      assert.equal(response.status, 415, type);
      assert.equal(errorCode(response), 'unsupported_media_type');
    }
  });

  it('the server\'s own page and the allowed origin pass; only the allowed origin gets CORS headers', async () => {
    const own = await raw('POST', '/api/conversations', { origin: server.url, 'content-type': 'application/json' }, '{}');
    assert.equal(own.status, 201);
    assert.equal(own.headers['access-control-allow-origin'], undefined);
    const allowed = await raw('POST', '/api/conversations', { origin: APP_ORIGIN, 'content-type': 'application/json; charset=utf-8' }, '{}');
    assert.equal(allowed.status, 201);
    assert.equal(allowed.headers['access-control-allow-origin'], APP_ORIGIN);
  });

  it('a streamed answer carries the same headers as any other: CORS for the allowed origin only, and the request id', async () => {
    const until = Date.now() + 60_000;
    while ((await raw('GET', '/health', {})).status !== 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, stream: true });
    const allowed = await raw('POST', '/v1/chat/completions', { origin: APP_ORIGIN, 'content-type': 'application/json', 'x-request-id': 'stream-7' }, body);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['content-type'], 'text/event-stream');
    assert.equal(allowed.headers['access-control-allow-origin'], APP_ORIGIN);
    assert.equal(allowed.headers['x-request-id'], 'stream-7');
    assert.match(allowed.body, /data: \[DONE\]\n\n$/);
    const own = await raw('POST', '/v1/chat/completions', { origin: server.url, 'content-type': 'application/json' }, body);
    assert.equal(own.status, 200);
    assert.equal(own.headers['access-control-allow-origin'], undefined);
  });

  it('a preflight is answered for the allowed origin only', async () => {
    const preflight = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' };
    const allowed = await raw('OPTIONS', '/v1/chat/completions', { origin: APP_ORIGIN, ...preflight });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], APP_ORIGIN);
    assert.match(String(allowed.headers['access-control-allow-methods']), /POST/);
    assert.match(String(allowed.headers['access-control-allow-headers']), /content-type/);
    const refused = await raw('OPTIONS', '/v1/chat/completions', { origin: 'http://evil.example', ...preflight });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });

  it('a wrong method on a known path is a 405 with Allow', async () => {
    const response = await raw('GET', '/v1/chat/completions', {});
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'POST');
    assert.equal(errorCode(response), 'method_not_allowed');
    assert.equal((await raw('PUT', '/api/conversations', { 'content-type': 'application/json' }, '{}')).status, 405);
    assert.equal((await raw('GET', '/no/such/route', {})).status, 404);
  });
});

describe('request bodies', () => {
  it('a body over --body-limit is a 413 in OpenAI\'s shape, declared or streamed, and memory comes back', async () => {
    const rssOf = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${server.child.pid}/status`, 'utf8'))?.[1]) * 1024;
    // Declared too large: refused from Content-Length before a byte of the body is read. (Sending the
    // body as well races the refusal: the server closes while the client still writes, an EPIPE.)
    const declared = await raw('POST', '/v1/chat/completions', { 'content-type': 'application/json', 'content-length': String(2 * 2 ** 20) }, 'headers-only');
    assert.equal(declared.status, 413);
    assert.equal(errorCode(declared), 'request_too_large');
    const before = await rssOf();
    // Four chunked 64 MiB bodies at once (no Content-Length, so the limit must count bytes as they come).
    const big = Buffer.alloc(64 * 2 ** 20, 0x20);
    const responses = await Promise.all(Array.from({ length: 4 }, () => raw('POST', '/api/conversations', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big).catch((error: Error) => ({ status: -1, headers: {}, body: error.message }))));
    for (const response of responses) assert.ok(response.status === 413 || response.status === -1, `status ${response.status}`);
    assert.ok(responses.some((r) => r.status === 413));
    const grown = (await rssOf()) - before;
    assert.ok(grown < 64 * 2 ** 20, `the server grew by ${(grown / 2 ** 20).toFixed(0)} MiB for 256 MiB of refused bodies`);
    assert.equal((await raw('GET', '/api/conversations', {})).status, 200);
  });

  it('malformed JSON and wrong fields are 400s that name the problem', async () => {
    assert.equal(errorCode(await raw('POST', '/api/conversations', { 'content-type': 'application/json' }, '{"title":')), 'invalid_json');
    const stop = await raw('POST', '/v1/chat/completions', { 'content-type': 'application/json' }, JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stop: [''] }));
    assert.equal(stop.status, 400);
    assert.match(stop.body, /empty stop string/);
  });
});

describe('private files and careless starts', () => {
  it('the conversation database and its folder are owner-only', async () => {
    assert.equal((await stat(join(dir, 'data'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'data', 'conversations.db'))).mode & 0o777, 0o600);
  });

  it('--host 0.0.0.0 without a token refuses before it creates a file', async () => {
    const db = join(dir, 'exposed', 'conversations.db');
    const result = await runCli(['serve', '--host', '0.0.0.0', '--db', db], { env: { ONBOARD_API_TOKEN: '' } });
    assertFriendly(result, 'INVALID_OPTION', 2);
    await assert.rejects(stat(join(dir, 'exposed')));
  });

  it('a port in use is ADDRESS_IN_USE', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = String((blocker.address() as { port: number }).port);
    try {
      assertFriendly(await runCli(['serve', '--port', port, '--db', join(dir, 'port.db')]), 'ADDRESS_IN_USE', 14);
    } finally {
      blocker.close();
    }
  });

  it('a --db that is a directory, not SQLite, corrupt or not writable is DATABASE_FAILED', async () => {
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'these are not conversations\n'.repeat(200));
    const corrupt = join(dir, 'corrupt.db');
    await writeFile(corrupt, Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0xee)]));
    for (const db of [folder, text, corrupt]) {
      const result = await runCli(['serve', '--port', '0', '--db', db]);
      assertFriendly(result, 'DATABASE_FAILED', 13);
    }
    // Root writes everywhere, so the read-only case runs as the unprivileged user "nobody".
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o755 });
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = await runCli(['serve', '--port', '0', '--db', join(locked, 'conversations.db')], { ...asNobody, env: { ONBOARD_CACHE_DIR: join(locked, 'cache'), HOME: locked } });
    assertFriendly(result, 'DATABASE_FAILED', 13);
  });
});
