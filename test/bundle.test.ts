import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256File } from '../src/adapters/models/files.js';
import { configFromEnv, createApp } from '../src/app/composition.js';
import { assertFriendly, exportedPte, runCli } from './helpers.js';

describe('onboard bundle: the files an Android app loads', () => {
  let work: string;
  let pte: string;
  const id = 'smollm2-135m-xnnpack-8da8w';
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'onboard-bundle-'));
    pte = await exportedPte();
  });
  after(() => rm(work, { recursive: true, force: true }));

  test('a bundle holds the .pte, its tokenizer files and a manifest of sizes and sha256, and a copy verifies', async () => {
    const out = join(work, 'plain');
    const made = await runCli(['bundle', id, '--out', out, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const files = (await readdir(out)).sort();
    assert.ok(files.includes(basename(pte)) && files.includes('tokenizer.json') && files.includes('tokenizer_config.json') && files.includes('bundle.json'), files.join(', '));
    const manifest = JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8')) as { files: Array<{ name: string; sha256: string; role: string }> };
    const program = manifest.files.find((f) => f.role === 'program')!;
    assert.equal(program.sha256, await sha256File(pte), 'the program is the cached export, byte for byte');

    const copy = join(work, 'copied');
    await cp(out, copy, { recursive: true });
    const verified = await runCli(['bundle', '--verify', copy]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /every sha256 matches/);

    assertFriendly(await runCli(['bundle', id, '--out', out]), 'INVALID_OPTION', 2);
  });

  test('a changed, cut or missing file, or a manifest naming a path, fails verification and names the file', async () => {
    const out = join(work, 'to-damage');
    assert.equal((await runCli(['bundle', id, '--out', out])).code, 0);
    await appendFile(join(out, 'tokenizer.json'), ' ');
    const changed = await runCli(['bundle', '--verify', out]);
    assertFriendly(changed, 'BUNDLE_INVALID', 3);
    assert.match(changed.stderr, /tokenizer\.json has \d+ bytes/);

    await rm(join(out, 'tokenizer_config.json'));
    assert.match((await runCli(['bundle', '--verify', out])).stderr, /tokenizer_config\.json is missing/);

    const manifest = JSON.parse(await readFile(join(out, 'bundle.json'), 'utf8')) as { files: Array<{ name: string }> };
    manifest.files[0]!.name = '../../etc/passwd';
    await writeFile(join(out, 'bundle.json'), JSON.stringify(manifest));
    assertFriendly(await runCli(['bundle', '--verify', out]), 'BUNDLE_INVALID', 3);
  });

  test('--encrypt writes the program encrypted with the model key, and it loads from the bundle with that key', async () => {
    const keyFile = join(work, 'model.key');
    await writeFile(keyFile, randomBytes(32));
    const out = join(work, 'encrypted');
    assertFriendly(await runCli(['bundle', id, '--out', out, '--encrypt'], { env: { ONBOARD_MODEL_KEY: '', ONBOARD_MODEL_KEY_FILE: '' } }), 'MODEL_KEY_REQUIRED', 2);
    await assert.rejects(readdir(out), /ENOENT/, 'nothing is left of a refused bundle');
    const made = await runCli(['bundle', id, '--out', out, '--encrypt', '--key-file', keyFile, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { manifest } = JSON.parse(made.stdout) as { manifest: { encryption: { plaintextSha256: string }; files: Array<{ name: string; role: string }> } };
    assert.equal(manifest.encryption.plaintextSha256, await sha256File(pte));
    const program = join(out, manifest.files.find((f) => f.role === 'program')!.name);
    assert.equal((await readFile(program)).subarray(0, 8).toString('latin1'), 'ONBDSEAL');
    assert.ok(!(await readdir(dirname(out))).some((name) => name.includes('.partial-')), 'no partial folder left');

    const app = createApp(configFromEnv({}, { ...process.env, ONBOARD_MODEL_KEY_FILE: keyFile }));
    const chat = await app.openChat({ model: program, tokenizer: out, defaults: { maxTokens: 4 } });
    try {
      assert.equal(chat.runner.model.engine, 'executorch');
      const answer = await chat.ask('Hi');
      assert.ok(answer.stats.decodeTokens > 0);
    } finally {
      await chat.runner.close();
    }
  });
});
