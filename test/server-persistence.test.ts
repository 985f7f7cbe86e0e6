// Nothing is lost: answers are written to SQLite as they stream, and survive a crash of the server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEvents, startServerProcess } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-persist-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jsonPost = (url: string, body: unknown, method = 'POST') => fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('conversations in SQLite', () => {
  it('keeps a half-streamed answer, marked incomplete, when the server is killed; the conversation goes on after a restart', async () => {
    const db = join(dir, 'conversations.db');
    const first = await startServerProcess(['--db', db]);
    const conversation = (await (await jsonPost(`${first.url}/api/conversations`, { systemPrompt: 'You are a storyteller.', settings: { temperature: 0, maxTokens: 200 } })).json()) as { id: string };
    const response = await jsonPost(`${first.url}/api/conversations/${conversation.id}/messages`, { content: 'Write a long story about a lighthouse keeper who finds a message in a bottle.' });
    assert.equal(response.status, 200);
    let received = '';
    const startedAt = Date.now();
    for await (const { event, data } of readEvents(response)) {
      if (event === 'token') received += (JSON.parse(data) as { text: string }).text;
      if (Date.now() - startedAt > 600 && received.length > 20) break;
    }
    first.child.kill('SIGKILL'); // a crash: no chance to clean up
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startServerProcess(['--db', db]);
    try {
      const saved = (await (await fetch(`${second.url}/api/conversations/${conversation.id}`)).json()) as { messages: Array<{ role: string; content: string; incomplete: boolean }>; systemPrompt: string; title: string };
      assert.equal(saved.systemPrompt, 'You are a storyteller.');
      assert.equal(saved.title, 'Write a long story about a lighthouse keeper who finds a message in a bottle.'.slice(0, 60), 'the title is the first message, cut at 60 characters');
      assert.deepEqual(saved.messages.map((m) => m.role), ['user', 'assistant']);
      const partial = saved.messages[1]!;
      assert.equal(partial.incomplete, true);
      assert.ok(partial.content.length > 0, 'what was generated before the crash is kept');
      assert.ok(received.startsWith(partial.content), 'the saved text is what the client saw');

      const next = await jsonPost(`${second.url}/api/conversations/${conversation.id}/messages`, { content: 'What is the capital of France?' });
      let done: { incomplete: boolean; stats: { decodeTokens: number } } | undefined;
      for await (const { event, data } of readEvents(next)) if (event === 'done') done = JSON.parse(data);
      assert.equal(done?.incomplete, false);
      const after = (await (await fetch(`${second.url}/api/conversations/${conversation.id}`)).json()) as { messages: Array<{ role: string; incomplete: boolean; stats?: object }> };
      assert.deepEqual(after.messages.map((m) => m.role), ['user', 'assistant', 'user', 'assistant']);
      assert.equal(after.messages[3]!.incomplete, false);
      assert.ok(after.messages[3]!.stats, 'stats are stored with the answer');
    } finally {
      assert.equal(await second.stop(), 0, 'SIGTERM stops the server cleanly');
    }
  });

  it('validates UI requests and reports unknown conversations', async () => {
    const server = await startServerProcess(['--db', join(dir, 'other.db')]);
    try {
      const bad = await jsonPost(`${server.url}/api/conversations`, { settings: { temperature: 'hot' } });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { param: string } }).error.param, 'settings.temperature');
      const missing = await jsonPost(`${server.url}/api/conversations/nope/messages`, { content: 'hi' });
      assert.equal(missing.status, 404);
    } finally {
      await server.stop();
    }
  });
});
