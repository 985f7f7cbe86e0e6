import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyRetention, openConversations } from '../src/app/conversations.js';
import { DatabaseError } from '../src/core/errors.js';
import { runCli, startServerProcess, readEvents } from './helpers.js';

/** The database file and its WAL, read raw: where the text of a conversation could sit on disk. */
async function rawDatabase(path: string): Promise<Buffer> {
  const parts = await Promise.all([path, `${path}-wal`].map((p) => readFile(p).catch(() => Buffer.alloc(0))));
  return Buffer.concat(parts);
}

describe('conversations protected at rest', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onboard-privacy-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('with a key the file and its WAL hold no text, and open only with that key', async () => {
    const path = join(dir, 'private', 'conversations.db');
    const key = randomBytes(32);
    const secret = `secret-${randomUUID()}`;
    const store = openConversations(path, key);
    const conversation = store.createConversation({ title: secret });
    store.addMessage(conversation.id, 'user', `my address is ${secret}`);
    assert.ok(!(await rawDatabase(path)).includes(secret), 'not in the file or WAL while open');
    store.close();
    assert.ok(!(await rawDatabase(path)).includes(secret), 'not in the file after closing');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'private'))).mode & 0o777, 0o700);

    assert.throws(() => openConversations(path, undefined).listConversations(), (error: unknown) => error instanceof DatabaseError && /encrypted/.test(error.message));
    assert.throws(() => openConversations(path, randomBytes(32)), (error: unknown) => error instanceof DatabaseError && /key does not open it/.test(error.message));
    const reopened = openConversations(path, key);
    assert.equal(reopened.getConversation(conversation.id)?.messages[0]?.content, `my address is ${secret}`);
    reopened.close();
  });

  test('retention deletes conversations unused for the given days, and their text leaves the file', async () => {
    const path = join(dir, 'retention.db');
    const store = openConversations(path, undefined);
    const old = store.createConversation({ title: 'old' });
    const oldText = `old-${randomUUID()}`;
    store.addMessage(old.id, 'user', oldText);
    const recent = store.createConversation({ title: 'recent' });
    store.addMessage(recent.id, 'user', 'recent words');
    // Thirty days on from the old one's last use, and 29.5 after the recent one's.
    const lastOld = new Date(store.getConversation(old.id)!.updatedAt).getTime();
    // Timestamps are in milliseconds: the recent one must be used in a later one.
    await new Promise((resolve) => setTimeout(resolve, 5));
    store.updateConversation(recent.id, { title: 'recent' });
    const deleted: number[] = [];
    const stop = applyRetention(store, 30, (count) => deleted.push(count), () => new Date(lastOld + 30 * 86_400_000 + 1));
    stop();
    assert.deepEqual(deleted, [1]);
    assert.deepEqual(store.listConversations().map((c) => c.title), ['recent']);
    assert.ok(!(await rawDatabase(path)).includes(oldText), 'deleted text is overwritten, not left in free pages or the WAL');
    store.close();
  });

  test('onboard data wipe deletes every conversation and leaves none of their text', async () => {
    const path = join(dir, 'wipe.db');
    const store = openConversations(path, undefined);
    const text = `wipe-${randomUUID()}`;
    for (let i = 0; i < 3; i++) store.addMessage(store.createConversation().id, 'user', `${text} ${i}`);
    store.close();
    assert.ok((await rawDatabase(path)).includes(text), 'the plain database holds the text (so the check can fail)');
    const wiped = await runCli(['data', 'wipe', '--db', path]);
    assert.equal(wiped.code, 0, wiped.stderr);
    assert.match(wiped.stdout, /3 conversation\(s\) deleted/);
    assert.ok(!(await rawDatabase(path)).includes(text));
    const reopened = openConversations(path, undefined);
    assert.deepEqual(reopened.listConversations(), []);
    reopened.close();
  });

  test('the server keeps an encrypted database, and logs no prompt or answer text unless --log-prompts', async () => {
    const keyFile = join(dir, 'db.key');
    await writeFile(keyFile, randomBytes(32).toString('hex'));
    const path = join(dir, 'served.db');
    const word = `zebra${randomUUID().slice(0, 8)}`;
    const logs: string[] = [];
    for (const extra of [[], ['--log-prompts']]) {
      const server = await startServerProcess(['--db', path, ...extra], { ONBOARD_DB_KEY_FILE: keyFile });
      let log = '';
      server.child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
      const created = (await (await fetch(`${server.url}/api/conversations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { id: string };
      const response = await fetch(`${server.url}/api/conversations/${created.id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: `Repeat this word: ${word}` }) });
      assert.equal(response.status, 200);
      let answer = '';
      for await (const event of readEvents(response)) if (event.event === 'token') answer += (JSON.parse(event.data) as { text: string }).text;
      await server.stop();
      logs.push(log);
      assert.match(log, /POST \/api\/conversations\/[0-9a-f-]+\/messages 200 \d+ms id=/, 'each request has a log line');
      assert.ok(!(await rawDatabase(path)).includes(word), 'the database holds no text of the conversation');
      const logged = JSON.stringify(answer.trim().slice(0, 20)).slice(1, -1);
      if (answer.trim().length > 3) assert.equal(log.includes(logged), extra.length > 0, 'the answer is logged only with --log-prompts');
    }
    assert.ok(!logs[0]!.includes(word), 'no prompt text in the default log');
    assert.ok(logs[1]!.includes(word), '--log-prompts logs the prompt');
    assert.match(logs[1]!, /prompt-log \{"prompt":/);
    const files = await readdir(dir);
    assert.ok(files.includes('served.db'));
  });

  test('onboard doctor says what is logged and whether the database is encrypted', async () => {
    const doctor = await runCli(['doctor', '--no-verify', '--json'], { env: { ONBOARD_DATA_DIR: dir } });
    const report = JSON.parse(doctor.stdout) as { privacy: { promptLogging: string; database: { state: string } } };
    assert.match(report.privacy.promptLogging, /--log-prompts/);
    assert.equal(report.privacy.database.state, 'absent');
  });
});
