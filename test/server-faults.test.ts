// Every way a request can end gives its KV-cache sequence back: /health returns to active 0
// and the next request is served. The real server, the real model, real failures.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readEvents, repoRoot, runCli, startServerProcess, type ServerProcess } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-faults-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const STORY = 'Write a long story about a lighthouse keeper who finds a message in a bottle.';
const post = (url: string, body: unknown, signal?: AbortSignal) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

async function health(server: ServerProcess): Promise<{ active: number; queueDepth: number; status: string }> {
  return (await (await fetch(`${server.url}/health`)).json()) as { active: number; queueDepth: number; status: string };
}

/** The slot comes back, and a new request is answered. */
async function assertRecovered(server: ServerProcess): Promise<void> {
  const until = Date.now() + 10_000;
  let state = await health(server);
  while ((state.active !== 0 || state.queueDepth !== 0) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    state = await health(server);
  }
  assert.deepEqual({ active: state.active, queueDepth: state.queueDepth, status: state.status }, { active: 0, queueDepth: 0, status: 'ready' });
  const next = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Say hi.' }], max_tokens: 4 });
  assert.equal(next.status, 200, await next.clone().text());
  assert.ok(((await next.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens > 0);
}

async function newConversation(server: ServerProcess, maxTokens = 300): Promise<string> {
  const response = await post(`${server.url}/api/conversations`, { settings: { temperature: 0, maxTokens } });
  return ((await response.json()) as { id: string }).id;
}

/** Reads events until `until` says stop, then returns every event seen. */
async function readUntil(response: Response, until: (event: string, seen: number) => boolean): Promise<string[]> {
  const events: string[] = [];
  for await (const { event } of readEvents(response)) {
    events.push(event);
    if (until(event, events.length)) break;
  }
  return events;
}

describe('one sequence, one queue slot: every ending returns it', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess(['--db', join(dir, 'faults.db'), '--parallel', '1', '--queue', '1', '--time-limit', '2']);
  });
  after(async () => {
    await server?.stop();
  });

  it('success', async () => {
    const response = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8, stream: true });
    assert.deepEqual((await readUntil(response, () => false)).at(-1), 'message');
    await assertRecovered(server);
  });

  it('the client disconnects mid-answer', async () => {
    const controller = new AbortController();
    const response = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 400, stream: true }, controller.signal);
    await readUntil(response, (_, seen) => seen >= 5).catch(() => []);
    controller.abort();
    await assertRecovered(server);
  });

  it('the time limit ends an answer with finish_reason "length"', async () => {
    const response = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 100_000, temperature: 0 });
    const body = (await response.json()) as { choices: Array<{ finish_reason: string }>; onboard: { stopReason: string } };
    assert.equal(body.onboard.stopReason, 'time-limit');
    assert.equal(body.choices[0]!.finish_reason, 'length');
    await assertRecovered(server);
  });

  it('the queue is full: 429, and the waiting and running requests still end cleanly', async () => {
    const running = new AbortController();
    const waiting = new AbortController();
    const first = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 400, stream: true }, running.signal);
    const second = post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 400, stream: true }, waiting.signal).catch(() => undefined);
    const until = Date.now() + 5000;
    while ((await health(server)).queueDepth < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const third = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    assert.equal(third.status, 429);
    assert.ok(third.headers.get('retry-after'));
    waiting.abort();
    running.abort();
    await first.body?.cancel().catch(() => {});
    await second;
    await assertRecovered(server);
  });

  it('the conversation is deleted while its answer streams: the stream ends and nothing is left running', async () => {
    const id = await newConversation(server);
    const response = await post(`${server.url}/api/conversations/${id}/messages`, { content: STORY });
    assert.equal(response.status, 200);
    const events = await readUntil(response, (event, seen) => {
      if (seen === 5) void fetch(`${server.url}/api/conversations/${id}`, { method: 'DELETE' });
      return event === 'done' || event === 'error';
    });
    assert.ok(events.includes('token'));
    assert.equal((await fetch(`${server.url}/api/conversations/${id}`)).status, 404);
    await assertRecovered(server);
  });

  it('the conversation is deleted while its request waits in the queue: 404, and the slot comes back', async () => {
    const first = post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 60, temperature: 0 });
    const until = Date.now() + 5000;
    while ((await health(server)).active < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const id = await newConversation(server);
    const queued = post(`${server.url}/api/conversations/${id}/messages`, { content: 'Hello there' });
    while ((await health(server)).queueDepth < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await fetch(`${server.url}/api/conversations/${id}`, { method: 'DELETE' })).status, 204);
    const response = await queued;
    assert.equal(response.status, 404, await response.clone().text());
    assert.equal((await first).status, 200);
    await assertRecovered(server);
  });
});

const isRoot = process.getuid?.() === 0;
describe('the disk fills up under the conversation database', { skip: isRoot ? false : 'needs root to mount a small tmpfs' }, () => {
  let server: ServerProcess;
  let mount: string;
  before(async () => {
    mount = join(dir, 'small-disk');
    await mkdir(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]);
    server = await startServerProcess(['--db', join(mount, 'conversations.db'), '--parallel', '1']);
  });
  after(async () => {
    await server?.stop();
    if (mount) execFileSync('umount', ['-l', mount]);
  });

  /** Fills the tmpfs to the last byte; returns a function that frees it. */
  async function fillDisk(): Promise<() => Promise<void>> {
    const filler = join(mount, 'filler');
    const handle = await open(filler, 'w');
    const block = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) await handle.write(block);
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) await handle.write(Buffer.alloc(size, 1));
      } catch {
        // this size no longer fits; try a smaller one
      }
    }
    await handle.close();
    return () => rm(filler, { force: true });
  }

  it('a write that fails mid-answer ends the stream with an error event; the slot comes back', async () => {
    const id = await newConversation(server, 400);
    const response = await post(`${server.url}/api/conversations/${id}/messages`, { content: STORY });
    assert.equal(response.status, 200);
    let free: (() => Promise<void>) | undefined;
    const events: string[] = [];
    let error: { code?: string } | undefined;
    for await (const { event, data } of readEvents(response)) {
      events.push(event);
      if (events.length === 3) free = await fillDisk();
      if (event === 'error') error = JSON.parse(data) as { code?: string };
      if (event === 'done' || event === 'error') break;
    }
    assert.equal(error?.code, 'database_failed', `events: ${events.join(',')}`);
    const refused = await post(`${server.url}/api/conversations`, {});
    assert.equal(refused.status, 500);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'database_failed');
    await free?.();
    await assertRecovered(server);
    assert.equal((await post(`${server.url}/api/conversations`, {})).status, 201);
  });
});

describe('the engine fails mid-answer', () => {
  let server: ServerProcess;
  before(async () => {
    const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`], { timeoutMs: 3_600_000 });
    assert.equal(exported.code, 0, exported.stderr);
    server = await startServerProcess(['--db', join(dir, 'engine.db'), '--parallel', '1', '--model', 'smollm2-135m-xnnpack-8da8w']);
  });
  after(async () => {
    await server?.stop();
  });

  it('the ExecuTorch host is killed: the stream ends with an error event and no [DONE], the host restarts, the slot comes back', async () => {
    const response = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: STORY }], max_tokens: 300, temperature: 0, stream: true });
    assert.equal(response.status, 200);
    const data: string[] = [];
    for await (const { data: line } of readEvents(response)) {
      data.push(line);
      if (data.length === 4) {
        const hosts = execFileSync('pgrep', ['-P', String(server.child.pid)]).toString().trim().split('\n').map(Number);
        for (const pid of hosts) process.kill(pid, 'SIGKILL');
      }
    }
    assert.ok(!data.includes('[DONE]'), 'a failed answer is not marked complete');
    const error = JSON.parse(data.at(-1)!) as { error?: { code: string } };
    assert.equal(error.error?.code, 'engine_failed');
    await assertRecovered(server);
  });
});
