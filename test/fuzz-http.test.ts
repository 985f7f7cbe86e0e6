// Hostile HTTP against the real server: random JSON in every field of the API's bodies, random
// headers, and raw bytes on the socket. Every answer is a documented status with OpenAI's error
// shape (never a 500), and the server keeps serving.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { FUZZ_RUNS, Outcomes } from './fuzz-support.js';
import { startServerProcess, type ServerProcess } from './helpers.js';

let dir: string;
let server: ServerProcess;
const reports: string[] = [];
const EXPECTED = new Set([200, 201, 204, 400, 403, 404, 405, 413, 415, 429, 503]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-fuzz-http-'));
  server = await startServerProcess(['--db', join(dir, 'fuzz.db'), '--body-limit', '1', '--queue', '64']);
});
after(async () => {
  for (const line of reports) process.stdout.write(`${line}\n`);
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const anyJson = fc.jsonValue({ maxDepth: 3 });
const messages = fc.oneof(
  fc.array(fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer', 'x'), content: fc.oneof(fc.string({ maxLength: 80 }), anyJson) }, { requiredKeys: [] }), { maxLength: 4 }),
  anyJson,
);
/** Chat bodies with every field drawn from valid and invalid values; answers stay one token long. */
const chatBody = fc
  .record(
    {
      messages,
      model: fc.oneof(fc.string(), anyJson),
      stream: fc.oneof(fc.boolean(), anyJson),
      temperature: fc.oneof(fc.double(), anyJson),
      top_p: fc.oneof(fc.double(), anyJson),
      top_k: fc.oneof(fc.integer(), anyJson),
      stop: fc.oneof(fc.string({ maxLength: 5 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 6 }), anyJson),
      seed: fc.oneof(fc.integer(), fc.double(), anyJson),
      presence_penalty: fc.oneof(fc.double(), anyJson),
      stream_options: anyJson,
    },
    { requiredKeys: [] },
  )
  .map((body) => ({ ...body, max_tokens: 1 }));

/** Mostly the well-formed case, so the schemas behind the guards are reached; sometimes anything. */
const mostly = <T,>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: usual }, { weight: 1, arbitrary: other });
const paths = mostly(fc.constantFrom('/v1/chat/completions', '/v1/completions'), fc.constantFrom('/api/conversations', '/api/conversations/none/messages', '/v1/models', '/health'));
const methods = mostly(fc.constant('POST'), fc.constantFrom('GET', 'PATCH', 'DELETE', 'PUT'));
const contentTypes = mostly(fc.constantFrom('application/json', 'application/json; charset=utf-8'), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', '', 'application/json, text/plain'));

describe('HTTP fuzzing against the running server', () => {
  it('random bodies and headers get a documented status, never a 500', async () => {
    const outcomes = new Outcomes();
    await fc.assert(
      fc.asyncProperty(paths, methods, contentTypes, mostly(chatBody.map((b) => JSON.stringify(b)), fc.string({ maxLength: 200 })), mostly(fc.constant(undefined), fc.constantFrom('http://evil.example', server.url, 'null')), async (path, method, type, body, origin) => {
        await outcomes.run(async () => {
          const hasBody = method !== 'GET';
          const response = await fetch(`${server.url}${path}`, {
            method,
            headers: { ...(type ? { 'content-type': type } : {}), ...(origin ? { origin } : {}) },
            ...(hasBody ? { body } : {}),
          });
          const text = await response.text();
          assert.ok(EXPECTED.has(response.status), `${method} ${path} (${type}) gave ${response.status}: ${text.slice(0, 300)}`);
          if (response.status >= 400) assert.equal(typeof (JSON.parse(text) as { error: { message: string } }).error.message, 'string');
          return `HTTP ${response.status}`;
        });
      }),
      { numRuns: Math.floor(FUZZ_RUNS / 5), seed: 20261130 },
    );
    reports.push(outcomes.report('HTTP requests'));
    assert.ok(outcomes.classes.size >= 4);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  it('raw bytes on the socket never bring the server down', async () => {
    const outcomes = new Outcomes();
    const { port } = new URL(server.url);
    const requestLike = fc.tuple(fc.constantFrom('GET', 'POST', 'BREW', ''), fc.string({ maxLength: 40 }), fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), { maxLength: 5 }), fc.string({ maxLength: 100 })).map(
      ([method, path, headers, body]) => Buffer.from(`${method} /${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(requestLike, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), async (bytes) => {
        await outcomes.run(
          () =>
            new Promise<string>((resolve) => {
              const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
              let reply = '';
              socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
              socket.on('error', () => resolve('connection reset'));
              socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ? `HTTP ${/^HTTP\/1\.1 (\d{3})/.exec(reply)![1]}` : 'closed without an answer'));
              setTimeout(() => socket.destroy(), 3000).unref();
            }),
        );
      }),
      { numRuns: Math.floor(FUZZ_RUNS / 5), seed: 20261130 },
    );
    reports.push(outcomes.report('raw HTTP bytes'));
    assert.equal(outcomes.classes.has('HTTP 500'), false, 'no raw request is a server error');
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});
