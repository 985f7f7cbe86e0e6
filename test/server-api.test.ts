// The OpenAI-compatible API, driven by the official `openai` client against the real server and model.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { ConversationStore } from '../src/adapters/storage/conversation-store.js';
import type { ModelRunner } from '../src/core/model-runner.js';
import { ModelHost } from '../src/entry/server/model-host.js';
import { createHttpApp, startServer, type RunningServer } from '../src/entry/server/server.js';
import { testApp } from './helpers.js';

let dir: string;
let runner: ModelRunner;
let host: ModelHost;
let store: ConversationStore;
let server: RunningServer;
let client: OpenAI;

const serverOptions = () => ({ host: '127.0.0.1', port: 0, modelId: 'smollm2', model: host, store, timeLimitMs: 60_000 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-api-'));
  runner = await testApp().openRunner({ backend: 'cpu', contextSize: 2048, parallel: 1, maxQueue: 1 });
  host = new ModelHost(async () => runner);
  await host.ready;
  store = new ConversationStore(join(dir, 'conversations.db'));
  server = await startServer(serverOptions());
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'not-needed-on-loopback', maxRetries: 0 });
});

after(async () => {
  await server.close();
  store.close();
  await runner.close();
  await rm(dir, { recursive: true, force: true });
});

async function health(): Promise<{ status: string; active: number; queueDepth: number }> {
  return (await fetch(`${server.url}/health`)).json() as Promise<{ status: string; active: number; queueDepth: number }>;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('OpenAI-compatible API with the official client', () => {
  it('lists the model and reports health', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['smollm2']);
    assert.ok(models.data[0]!.created > 1_700_000_000, 'created is a real time');
    const status = await health();
    assert.equal(status.status, 'ready');
  });

  it('retrieves the served model by id; another id is a 404', async () => {
    const model = await client.models.retrieve('smollm2');
    assert.equal(model.id, 'smollm2');
    await assert.rejects(client.models.retrieve('gpt-4o'), (error: unknown) => error instanceof OpenAI.NotFoundError);
  });

  it('takes the developer role as the system prompt, and marks answers with a fingerprint and a request id', async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: 'smollm2', messages: [{ role: 'developer', content: 'Answer in one word.' }, { role: 'user', content: 'Hello' }], temperature: 0, max_tokens: 4 })
      .withResponse();
    assert.ok(completion.choices[0]!.message.content !== null);
    assert.match(completion.system_fingerprint ?? '', /^fp_onboard_llamacpp_cpu$/);
    assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const echoed = await fetch(`${server.url}/v1/models`, { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-42');
    const long = 'x'.repeat(500);
    const replaced = await fetch(`${server.url}/v1/models`, { headers: { 'x-request-id': long } });
    assert.match(replaced.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'an unreasonable id is replaced, not echoed');
  });

  it('answers a chat completion with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'What is the capital of France?' }], temperature: 0, max_tokens: 100 });
    const choice = completion.choices[0]!;
    assert.ok((choice.message.content ?? '').trim().length > 0);
    // EOS before the cap gives "stop"; the cap gives "length" with exactly max_tokens tokens.
    if (choice.finish_reason === 'length') assert.equal(completion.usage!.completion_tokens, 100);
    else assert.equal(choice.finish_reason, 'stop');
    assert.ok(completion.usage!.prompt_tokens > 10);
    assert.ok(completion.usage!.completion_tokens > 0);
    assert.equal(completion.usage!.total_tokens, completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('streams a chat completion as server-sent events, ending with usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'smollm2',
      messages: [{ role: 'user', content: 'Write a short poem about trains.' }],
      temperature: 0,
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let finish: string | null = null;
    let usage;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) pieces.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(pieces.length >= 10, `${pieces.length} content chunks`);
    assert.equal(finish, 'length');
    assert.equal(usage?.completion_tokens, 40);
  });

  it('completes raw text', async () => {
    const completion = await client.completions.create({ model: 'smollm2', prompt: 'The capital of France is', temperature: 0, max_tokens: 8 });
    assert.ok(completion.choices[0]!.text.length > 0);
    assert.ok(completion.usage!.completion_tokens <= 8);
  });

  it('takes every value OpenAI allows: negative penalties, top_p 0, seeds beyond 32 bits', async () => {
    for (const extra of [{ frequency_penalty: -1.5, presence_penalty: -0.5 }, { top_p: 0, temperature: 1 }, { seed: 2 ** 40 }, { seed: -7 }]) {
      const completion = await client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4, ...extra });
      assert.ok(completion.usage!.completion_tokens > 0, JSON.stringify(extra));
    }
  });

  it('validates every body and names the bad field', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'Hi' }], temperature: 9 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.param, 'temperature');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: [] }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'messages');
    // An assistant message last: a 400 about the request, not a CLI hint.
    const assistantLast = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }) });
    assert.equal(assistantLast.status, 400);
    const refused = ((await assistantLast.json()) as { error: { param: string; message: string; hint?: string } }).error;
    assert.equal(refused.param, 'messages');
    assert.match(refused.message, /last message must be from the user/);
    assert.doesNotMatch(JSON.stringify(refused), /--help/);
    const raw = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { code: string } }).error.code, 'invalid_json');
  });

  it('refuses a prompt longer than the context with context_length_exceeded', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'tell me about trains '.repeat(600) }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.code, 'context_length_exceeded');
      return true;
    });
  });

  it('a client that disconnects mid-stream stops the generation', async () => {
    const abortedBefore = await metric('onboard_generations_total{stop_reason="abort"}');
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'smollm2', messages: [{ role: 'user', content: 'Count from one to one thousand in words.' }], temperature: 0, max_tokens: 1000, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      // Events that came in the same write as the fifth are already read: stop at the fifth.
      for await (const _ of stream) {
        if (++chunks === 5) {
          controller.abort();
          break;
        }
      }
    } catch {
      // The client may end the loop quietly or with an AbortError; either way it is gone.
    }
    assert.equal(chunks, 5);
    const until = Date.now() + 3000;
    while ((await health()).active > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await health()).active, 0, 'the engine stopped generating');
    assert.equal(await metric('onboard_generations_total{stop_reason="abort"}'), abortedBefore + 1);
  });

  it('a full queue answers 429 with Retry-After; only the extra request is refused', async () => {
    const body = (n: number) => JSON.stringify({ messages: [{ role: 'user', content: `Story ${n}: tell me a long story.` }], max_tokens: 200, stream: true });
    const controllers = [new AbortController(), new AbortController()];
    const post = (n: number, signal?: AbortSignal) => fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(n), ...(signal ? { signal } : {}) });
    const first = await post(1, controllers[0]!.signal); // generating
    assert.equal(first.status, 200);
    const second = post(2, controllers[1]!.signal); // waits in the queue (size 1)
    const until = Date.now() + 3000;
    while ((await health()).queueDepth < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const third = await post(3);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '2');
    assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'queue_full');
    // The queued request is served as soon as the first one goes away.
    controllers[0]!.abort();
    const served = await second;
    assert.equal(served.status, 200);
    controllers[1]!.abort();
  });

  it('ends an answer at the per-request time limit', async () => {
    const limited = await startServer({ ...serverOptions(), timeLimitMs: 300 });
    try {
      const limitedClient = new OpenAI({ baseURL: `${limited.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const completion = await limitedClient.chat.completions.create({ model: 'smollm2', messages: [{ role: 'user', content: 'Tell me a very long story.' }], temperature: 0, max_tokens: 1000 });
      assert.equal(completion.choices[0]!.finish_reason, 'length');
      assert.equal((completion as unknown as { onboard: { stopReason: string } }).onboard.stopReason, 'time-limit');
    } finally {
      await limited.close();
    }
  });

  it('requires the bearer token when one is set, and one to listen beyond loopback', async () => {
    assert.throws(() => createHttpApp({ ...serverOptions(), host: '0.0.0.0' }), /--token/);
    const guarded = await startServer({ ...serverOptions(), token: 's3cret' });
    try {
      const denied = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
      await assert.rejects(denied.models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
      const allowed = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: 's3cret', maxRetries: 0 });
      assert.equal((await allowed.models.list()).data.length, 1);
      assert.equal((await fetch(`${guarded.url}/health`)).status, 200, 'health stays open for probes');
    } finally {
      await guarded.close();
    }
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['onboard_http_requests_total', 'onboard_prompt_tokens_total', 'onboard_completion_tokens_total', 'onboard_time_to_first_token_seconds_bucket', 'onboard_decode_tokens_per_second_bucket', 'onboard_queue_depth', 'onboard_engine_restarts_total']) {
      assert.ok(text.includes(name), name);
    }
    assert.ok((await metric('onboard_completion_tokens_total')) > 0);
  });
});
