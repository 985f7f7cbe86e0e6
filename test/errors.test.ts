// Every failure a user can act on, triggered by a real bad input through the real CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFriendly, cliPath, defaultModelPath, runCli } from './helpers.js';

let dir: string;
let model: string;

before(async () => {
  model = await defaultModelPath();
  dir = await mkdtemp(join(tmpdir(), 'onboard-errors-'));
  await chmod(dir, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (modelPath: string, ...extra: string[]) => runCli(['run', '--model', modelPath, '--backend', 'cpu', '--max-tokens', '4', ...extra, 'Hello']);

describe('bad model files', () => {
  it('a path that does not exist', async () => {
    assertFriendly(await run(join(dir, 'missing.gguf')), 'MODEL_NOT_FOUND', 3);
  });

  it('a file this user cannot read', async () => {
    const path = join(dir, 'unreadable.gguf');
    await copyFile(model, path);
    await chmod(path, 0o000);
    // root reads everything, so as root the check runs as the unprivileged user "nobody".
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const result = await runCli(['run', '--model', path, '--backend', 'cpu', 'Hello'], { ...asNobody, env: { ONBOARD_CACHE_DIR: join(dir, 'cache') } });
    assertFriendly(result, 'MODEL_NOT_READABLE', 3);
  });

  it('a directory', async () => {
    const path = join(dir, 'a-folder.gguf');
    await mkdir(path);
    assertFriendly(await run(path), 'MODEL_IS_DIRECTORY', 3);
  });

  it('a zero-byte file', async () => {
    const path = join(dir, 'empty.gguf');
    await writeFile(path, '');
    const result = await run(path);
    assertFriendly(result, 'MODEL_CORRUPT', 3);
    assert.match(result.stderr, /empty/);
  });

  it('random bytes', async () => {
    const path = join(dir, 'random.gguf');
    await writeFile(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    assertFriendly(await run(path), 'MODEL_NOT_A_MODEL_FILE', 3);
  });

  it('a PNG renamed .gguf says what it really is', async () => {
    const path = join(dir, 'picture.gguf');
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]);
    await writeFile(path, png);
    const result = await run(path);
    assertFriendly(result, 'MODEL_NOT_A_MODEL_FILE', 3);
    assert.match(result.stderr, /PNG/);
  });

  it('a truncated copy of the real GGUF', async () => {
    const path = join(dir, 'truncated.gguf');
    const source = await readFile(model);
    await writeFile(path, source.subarray(0, Math.floor(source.length / 2)));
    const result = await run(path);
    assertFriendly(result, 'MODEL_CORRUPT', 3);
    assert.match(result.stderr, /truncated/);
  });

  it('a GGUF whose architecture llama.cpp does not support', async () => {
    const path = join(dir, 'alien-arch.gguf');
    await copyFile(model, path);
    await patchArchitecture(path, 'llama', 'zorgl');
    const result = await run(path);
    assertFriendly(result, 'MODEL_UNSUPPORTED_ARCHITECTURE', 3);
    assert.match(result.stderr, /zorgl/);
  });
});

describe('GGUF headers that are not what they claim', () => {
  it('only the magic number is a corrupt file, not an unsupported architecture', async () => {
    const path = join(dir, 'magic-only.gguf');
    await writeFile(path, 'GGUF');
    assertFriendly(await run(path), 'MODEL_CORRUPT', 3);
  });

  it('an unknown GGUF format version is named as such', async () => {
    const path = join(dir, 'future.gguf');
    await copyFile(model, path);
    const handle = await open(path, 'r+');
    await handle.write(Buffer.from([99, 0, 0, 0]), 0, 4, 4);
    await handle.close();
    const result = await run(path);
    assertFriendly(result, 'MODEL_NOT_A_MODEL_FILE', 3);
    assert.match(result.stderr, /GGUF format version 99/);
  });

  it('a tensor count larger than the file can hold fails at once, in bounded memory', async () => {
    const path = join(dir, 'lying-count.gguf');
    await copyFile(model, path);
    const handle = await open(path, 'r+');
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(2n ** 62n);
    await handle.write(count, 0, 8, 8);
    await handle.close();
    const result = await run(path);
    assertFriendly(result, 'MODEL_CORRUPT', 3);
    assert.match(result.stderr, /tensor count/);
  });
});

describe('bad settings', () => {
  it('a context below the 256 tokens llama.cpp would round it up to', async () => {
    const result = await runCli(['run', '--ctx', '100', 'Hello']);
    assertFriendly(result, 'INVALID_OPTION', 2);
    assert.match(result.stderr, /--ctx/);
  });

  it('an empty stop string, which would end every answer at once', async () => {
    const result = await runCli(['run', 'Hello', '--stop', '']);
    assertFriendly(result, 'INVALID_OPTION', 2);
    assert.match(result.stderr, /--stop/);
  });

  it('a backend this machine does not have', async () => {
    const result = await runCli(['run', '--model', model, '--backend', 'cuda', 'Hello']);
    assertFriendly(result, 'BACKEND_UNAVAILABLE', 5);
  });

  it('a context too large for the memory, refused before loading with the numbers', async () => {
    const result = await runCli(['run', '--model', model, '--ctx', '16000000', 'Hello']);
    assertFriendly(result, 'NOT_ENOUGH_MEMORY', 6);
    assert.match(result.stderr, /KV cache \d+ MiB for 16000000 tokens/);
  });

  it('a prompt too long for the context, with the token counts', async () => {
    const result = await runCli(['run', '--model', model, '--backend', 'cpu', '--ctx', '256', 'tell me about '.repeat(100)]);
    assertFriendly(result, 'PROMPT_TOO_LONG', 7);
    assert.match(result.stderr, /\d{3} tokens, but the context holds 256 tokens and 16 are kept for the answer/);
  });

  it('a sampling value out of range names its flag', async () => {
    const result = await runCli(['run', '--top-p', '7', 'Hello']);
    assertFriendly(result, 'INVALID_OPTION', 2);
    assert.match(result.stderr, /--top-p/);
  });

  it('Ctrl-C during an answer cancels it with exit code 130', async () => {
    const child = spawn(process.execPath, [cliPath, 'run', '--model', model, '--backend', 'cpu', '--temperature', '0', '--max-tokens', '2000', 'Count from one to one thousand in words.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const firstText = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), resolve())));
    await firstText;
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    assert.ok(stdout.length > 0);
  });
});

/** Rewrites the value of general.architecture in place (same length), leaving a valid GGUF. */
async function patchArchitecture(path: string, from: string, to: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const head = Buffer.alloc(64 * 1024);
    await handle.read(head, 0, head.length, 0);
    const key = head.indexOf('general.architecture');
    assert.ok(key > 0, 'the GGUF has general.architecture');
    // key bytes, then u32 type (8 = string), u64 length, then the value.
    const valueAt = key + 'general.architecture'.length + 4 + 8;
    assert.equal(head.subarray(valueAt, valueAt + from.length).toString(), from);
    await handle.write(Buffer.from(to), 0, to.length, valueAt);
  } finally {
    await handle.close();
  }
}
