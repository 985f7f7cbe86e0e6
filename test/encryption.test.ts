import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseModelKey } from '../src/adapters/files/model-key.js';
import { openModelBytes } from '../src/adapters/files/model-bytes.js';
import { sealFile, unsealFile } from '../src/adapters/files/sealed-file.js';
import { sha256File } from '../src/adapters/models/files.js';
import { configFromEnv, createApp } from '../src/app/composition.js';
import { ModelKeyInvalidError, ModelKeyWrongError, ModelTamperedError } from '../src/core/errors.js';
import { assertFriendly, defaultModelPath, exportedPte, repoRoot, runCli, startServerProcess } from './helpers.js';

const CHUNK = 4096;

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, offset);
  byte[0]! ^= 0x40;
  await handle.write(byte, 0, 1, offset);
  await handle.close();
}

async function writeByte(path: string, offset: number, char: string): Promise<void> {
  const handle = await open(path, 'r+');
  await handle.write(Buffer.from(char, 'latin1'), 0, 1, offset);
  await handle.close();
}

/** Every regular file under `dir` (not following links), with its mtime. */
async function filesUnder(dir: string): Promise<Array<{ path: string; mtimeMs: number; size: number }>> {
  const found: Array<{ path: string; mtimeMs: number; size: number }> = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info) found.push({ path, mtimeMs: info.mtimeMs, size: info.size });
  }
  return found;
}

/** Files holding `needle`: in `whole` dirs any file, in `since` dirs files written after `sinceMs`. */
async function filesHolding(needle: Buffer, whole: string[], since: string[], sinceMs: number): Promise<string[]> {
  const candidates = [...(await Promise.all(whole.map(filesUnder))).flat(), ...(await Promise.all(since.map(filesUnder))).flat().filter((f) => f.mtimeMs >= sinceMs)];
  const holding: string[] = [];
  for (const file of candidates) {
    if (file.size < needle.length) continue;
    const handle = await open(file.path, 'r').catch(() => undefined);
    if (!handle) continue;
    try {
      // Read in overlapping windows, so a needle across a window edge is still found.
      const window = Buffer.alloc(8 << 20);
      for (let at = 0; at < file.size; at += window.length - needle.length) {
        const { bytesRead } = await handle.read(window, 0, window.length, at);
        if (window.subarray(0, bytesRead).includes(needle)) {
          holding.push(file.path);
          break;
        }
        if (bytesRead < window.length) break;
      }
    } finally {
      await handle.close();
    }
  }
  return holding;
}

/** 64 bytes from the middle of a model file: weights, found nowhere but in a copy of it. */
async function needleOf(path: string): Promise<Buffer> {
  const { size } = await stat(path);
  const handle = await open(path, 'r');
  const needle = Buffer.alloc(64);
  await handle.read(needle, 0, 64, Math.floor(size / 2));
  await handle.close();
  return needle;
}

describe('the sealed format (AES-256-GCM in authenticated chunks)', () => {
  let dir: string;
  let plain: string;
  const key = randomBytes(32);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onboard-sealed-'));
    plain = join(dir, 'plain.bin');
    await writeFile(plain, randomBytes(CHUNK * 5 + 123));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function sealed(name: string): Promise<string> {
    const path = join(dir, name);
    await rm(path, { force: true });
    await sealFile(plain, path, key, CHUNK);
    return path;
  }

  test('reads back any range, and decrypts to the same bytes', async () => {
    const path = await sealed('round-trip.sealed');
    const original = await readFile(plain);
    const file = await openModelBytes(path, () => key);
    try {
      assert.equal(file.size, original.length);
      assert.equal(file.sealed?.plaintextSha256, await sha256File(plain));
      for (const [offset, length] of [[0, 10], [CHUNK - 3, 7], [CHUNK * 2 + 5, CHUNK * 2], [original.length - 50, 100]] as const) {
        assert.deepEqual(await file.read(offset, length), original.subarray(offset, offset + length), `range ${offset}+${length}`);
      }
    } finally {
      await file.close();
    }
    await unsealFile(path, join(dir, 'round-trip.plain'), key);
    assert.deepEqual(await readFile(join(dir, 'round-trip.plain')), original);
  });

  test('a changed byte anywhere is MODEL_TAMPERED naming its chunk, and nothing is written', async () => {
    const headerBytes = (await readFile(await sealed('probe.sealed'))).readUInt32LE(8) + 12;
    for (const chunk of [0, 2, 5]) {
      const path = await sealed(`chunk-${chunk}.sealed`);
      await flipByte(path, headerBytes + chunk * (CHUNK + 16) + 17);
      const out = join(dir, `chunk-${chunk}.plain`);
      await assert.rejects(unsealFile(path, out, key), (error: unknown) => error instanceof ModelTamperedError && error.details.chunk === chunk && new RegExp(`chunk ${chunk} of 6`).test(error.message));
      await assert.rejects(stat(out), /ENOENT/, 'no half-written plaintext');
    }
    const header = await sealed('header.sealed');
    const text = (await readFile(header)).subarray(12, headerBytes).toString('latin1');
    // A header that still parses (a digit of plaintextBytes changed) fails chunk 0's authentication, which covers it.
    await flipByte(header, 12 + text.indexOf('"plaintextBytes":') + 17);
    await assert.rejects(unsealFile(header, join(dir, 'header.plain'), key), ModelTamperedError);
    const garbled = await sealed('garbled.sealed');
    // A letter no hex digit is, and no JSON syntax: an XOR could turn "b" into a quote.
    await writeByte(garbled, 12 + text.indexOf('"nonce":') + 9, 'z');
    await assert.rejects(openModelBytes(garbled, () => key), (error: unknown) => error instanceof ModelTamperedError && /nonce/.test(error.message));
  });

  test('a cut or extended file is MODEL_TAMPERED before any chunk is read', async () => {
    const cut = await sealed('cut.sealed');
    const whole = await readFile(cut);
    await writeFile(cut, whole.subarray(0, whole.length - 100));
    await assert.rejects(openModelBytes(cut, () => key), (error: unknown) => error instanceof ModelTamperedError && /cut short/.test(error.message));
    await writeFile(cut, Buffer.concat([whole, Buffer.from('extra')]));
    await assert.rejects(openModelBytes(cut, () => key), (error: unknown) => error instanceof ModelTamperedError && /appended/.test(error.message));
  });

  test('a wrong key is MODEL_KEY_WRONG, told apart from damage', async () => {
    const path = await sealed('wrong-key.sealed');
    await assert.rejects(openModelBytes(path, () => randomBytes(32)), ModelKeyWrongError);
    await assert.rejects(unsealFile(path, join(dir, 'wrong-key.plain'), randomBytes(32)), ModelKeyWrongError);
    await assert.rejects(stat(join(dir, 'wrong-key.plain')), /ENOENT/);
  });

  test('keys: 64 hex digits, base64 or 32 raw bytes; anything else is MODEL_KEY_INVALID', () => {
    const raw = randomBytes(32);
    assert.deepEqual(parseModelKey(Buffer.from(raw.toString('hex')), 'test'), raw);
    assert.deepEqual(parseModelKey(Buffer.from(`${raw.toString('base64')}\n`), 'test'), raw);
    const binary = Buffer.alloc(32, 0x01);
    assert.deepEqual(parseModelKey(binary, 'test'), binary);
    for (const bad of ['', 'secret', 'ab'.repeat(31), 'zz'.repeat(32)]) assert.throws(() => parseModelKey(Buffer.from(bad), 'test'), ModelKeyInvalidError, bad);
  });
});

describe('models encrypted at rest, with the real model and engines', () => {
  let work: string;
  let cacheDir: string;
  let keyFile: string;
  let env: NodeJS.ProcessEnv;
  const id = 'smollm2-135m-instruct-q4_1';
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'onboard-encrypted-'));
    cacheDir = join(work, 'cache');
    keyFile = join(work, 'model.key');
    await writeFile(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
    await cp(dirname(await defaultModelPath()), join(cacheDir, 'models', id), { recursive: true });
    env = { ONBOARD_CACHE_DIR: cacheDir, ONBOARD_MODEL_KEY_FILE: keyFile, ONBOARD_OFFLINE: '1' };
  });
  after(() => rm(work, { recursive: true, force: true }));

  const greedy = ['-n', '16', '--temperature', '0', '--backend', 'cpu'];

  test('llama.cpp: encrypt, then run and serve from memory only: the same answer, no plaintext on any disk', async () => {
    const plainPath = join(cacheDir, 'models', id, (await readdir(join(cacheDir, 'models', id))).find((f) => f.endsWith('.gguf'))!);
    const needle = await needleOf(plainPath);
    assert.deepEqual(await filesHolding(needle, [cacheDir], [], 0), [plainPath], 'the scan finds a plain copy (so it can fail)');
    const plainAnswer = await runCli(['run', 'Name a colour.', ...greedy], { env });
    assert.equal(plainAnswer.code, 0, plainAnswer.stderr);

    const encrypted = await runCli(['models', 'encrypt', id], { env });
    assert.equal(encrypted.code, 0, encrypted.stderr);
    const since = Date.now();
    assert.deepEqual(await filesHolding(needle, [cacheDir], [], 0), [], 'the cache holds no plaintext after encrypting');

    const answer = await runCli(['run', 'Name a colour.', ...greedy], { env });
    assert.equal(answer.code, 0, answer.stderr);
    assert.equal(answer.stdout, plainAnswer.stdout, 'the encrypted model answers as the plain one did');

    const dataDir = join(work, 'data');
    const server = await startServerProcess(['--db', join(dataDir, 'conversations.db'), '--model', id], env);
    try {
      const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Name a colour.' }], max_tokens: 8 }) });
      assert.equal(response.status, 200);
      // Scanned while the model is loaded: the decrypted bytes live in a nameless memory file only.
      assert.deepEqual(await filesHolding(needle, [cacheDir, dataDir, '/dev/shm'], [tmpdir(), '/var/tmp'], since), []);
    } finally {
      await server.stop();
    }
    assert.deepEqual(await filesHolding(needle, [cacheDir, dataDir, '/dev/shm'], [tmpdir(), '/var/tmp'], since), []);
  });

  test('without the key, with another key, or after a byte changed: typed errors and exit codes', async () => {
    assertFriendly(await runCli(['run', 'hi', ...greedy], { env: { ...env, ONBOARD_MODEL_KEY_FILE: '' } }), 'MODEL_KEY_REQUIRED', 2);
    const other = join(work, 'other.key');
    await writeFile(other, randomBytes(32).toString('base64'));
    assertFriendly(await runCli(['run', 'hi', ...greedy], { env: { ...env, ONBOARD_MODEL_KEY_FILE: other } }), 'MODEL_KEY_WRONG', 2);
    await writeFile(other, 'not a key');
    assertFriendly(await runCli(['run', 'hi', ...greedy], { env: { ...env, ONBOARD_MODEL_KEY_FILE: other } }), 'MODEL_KEY_INVALID', 2);

    const copy = join(work, 'tampered.gguf.sealed');
    const sealedPath = join(cacheDir, 'models', id, (await readdir(join(cacheDir, 'models', id))).find((f) => f.endsWith('.sealed'))!);
    await cp(sealedPath, copy);
    await flipByte(copy, Math.floor((await stat(copy)).size / 2));
    const tampered = await runCli(['run', 'hi', '--model', copy, ...greedy], { env });
    assertFriendly(tampered, 'MODEL_TAMPERED', 3);
    assert.match(tampered.stderr, /chunk \d+ of \d+ fails authentication/);
  });

  test('models info reads an encrypted file through the key; decrypt gives back the original file', async () => {
    const info = await runCli(['models', 'info', id, '--json'], { env });
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { format: string; encryption: { cipher: string; plaintextSha256: string }; manifest: { encryption: { plaintextSha256: string } } };
    assert.equal(parsed.format, 'gguf');
    assert.equal(parsed.encryption.cipher, 'aes-256-gcm');
    assert.equal(parsed.encryption.plaintextSha256, parsed.manifest.encryption.plaintextSha256);
    const decrypted = await runCli(['models', 'decrypt', id], { env });
    assert.equal(decrypted.code, 0, decrypted.stderr);
    const files = await readdir(join(cacheDir, 'models', id));
    assert.ok(!files.some((f) => f.endsWith('.sealed')), files.join(', '));
    assert.equal(await sha256File(join(cacheDir, 'models', id, files.find((f) => f.endsWith('.gguf'))!)), parsed.encryption.plaintextSha256);
  });

  test('ExecuTorch: an export with export.encrypt: true is never plain in the cache, and loads from memory with the same answer', async () => {
    const pte = await exportedPte();
    const exportId = 'smollm2-135m-xnnpack-8da8w';
    const needle = await needleOf(pte);
    // The cached export and its source, in this test's cache: the export is reused, then encrypted.
    await cp(dirname(pte), join(cacheDir, 'models', exportId), { recursive: true });
    const plainApp = createApp(configFromEnv({}, { ...process.env, ...env }));
    const plainChat = await plainApp.openChat({ model: exportId, defaults: { sampling: { temperature: 0 }, maxTokens: 12 } });
    const plainReply = (await plainChat.ask('Name a colour.').finally(() => plainChat.runner.close())).text;

    const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`, '--set', 'export.encrypt=true', '--json'], { env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stderr, /encrypt/);
    const since = Date.now();
    const manifest = JSON.parse(exported.stdout).model.manifest as { encryption?: { plaintextSha256: string }; file: string };
    assert.ok(manifest.encryption, 'the manifest records the encryption');
    assert.deepEqual(await filesHolding(needle, [cacheDir], [], 0), [], 'no plain .pte left in the cache');

    const app = createApp(configFromEnv({}, { ...process.env, ...env }));
    const chat = await app.openChat({ model: exportId, defaults: { sampling: { temperature: 0 }, maxTokens: 12 } });
    try {
      assert.equal(chat.runner.model.engine, 'executorch');
      assert.equal((await chat.ask('Name a colour.')).text, plainReply);
      assert.deepEqual(await filesHolding(needle, [cacheDir, '/dev/shm'], [tmpdir(), '/var/tmp'], since), []);
    } finally {
      await chat.runner.close();
    }
  });
});
