// Ids that try to leave the model cache: every command that takes an id, and the cache itself
// holding symlinks and manifests that point outside. Nothing outside the cache may be read or removed.
import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ModelCache } from '../src/adapters/models/cache.js';
import { OnboardError } from '../src/core/errors.js';
import { tinyGguf } from './fuzz-support.js';
import { assertFriendly, defaultModelPath, runCli } from './helpers.js';

let dir: string;
let cacheDir: string;
let victim: string;

const HOSTILE_IDS = ['..', '../victim', '../../victim', '.', '/etc', '/', 'models/../../victim', 'a/b', `a${'b'.repeat(4096)}`, '-rf', '.hidden', 'x\\..\\y'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-ids-'));
  cacheDir = join(dir, 'c');
  victim = join(dir, 'victim');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(join(cacheDir, 'models', 'kept'), { recursive: true });
  await writeFile(join(cacheDir, 'models', 'kept', 'marker'), 'a model folder that must survive');
  await mkdir(victim, { recursive: true });
  await writeFile(join(victim, 'precious'), 'outside the cache');
});

async function assertNothingLost(): Promise<void> {
  assert.equal(await readFile(join(victim, 'precious'), 'utf8'), 'outside the cache');
  assert.equal(await readFile(join(cacheDir, 'models', 'kept', 'marker'), 'utf8'), 'a model folder that must survive');
}

const cli = (args: string[]) => runCli(args, { env: { ONBOARD_CACHE_DIR: cacheDir, HF_ENDPOINT: 'http://127.0.0.1:9', ONBOARD_PYTHON: '/nonexistent' } });

describe('hostile ids on every command that takes one', () => {
  for (const id of ['', ...HOSTILE_IDS]) {
    it(`models rm ${JSON.stringify(id.slice(0, 24))} is refused and removes nothing`, async () => {
      // `--` so an id that looks like a flag reaches the command as an id.
      assertFriendly(await cli(['models', 'rm', '--', id]), 'MODEL_ID_INVALID', 2);
      await assertNothingLost();
    });
  }

  for (const id of ['', '..', '../victim', `a${'b'.repeat(4096)}`]) {
    it(`models pull / info, run -m, export with ${JSON.stringify(id.slice(0, 24))}`, async () => {
      assertFriendly(await cli(['models', 'pull', id]), 'MODEL_ID_INVALID', 2);
      if (!id.startsWith('.')) {
        // A spec starting with "." or holding "/" is a file path for run and info, by design; the rest are ids.
        assertFriendly(await cli(['models', 'info', id]), 'MODEL_ID_INVALID', 2);
        assertFriendly(await cli(['run', '-m', id, 'Hello']), 'MODEL_ID_INVALID', 2);
      }
      const export_ = await cli(['export', '-c', 'configs/smollm2-135m-xnnpack-8da8w.yaml', '--set', `base.checkpoint=model:${id}`, '--set', 'export.output_name=ids-test']);
      // YAML reads a bare "model:" as a mapping, so the empty id fails as a config value.
      if (id === '') assertFriendly(export_, 'EXPORT_CONFIG_INVALID', 10);
      else assertFriendly(export_, 'MODEL_ID_INVALID', 2);
      const named = await cli(['export', '-c', 'configs/smollm2-135m-xnnpack-8da8w.yaml', '--output-name', id]);
      assertFriendly(named, 'EXPORT_CONFIG_INVALID', 10);
      await assertNothingLost();
    });
  }

  it('the library refuses NUL and separators before touching the filesystem', async () => {
    const cache = new ModelCache(cacheDir);
    for (const id of ['a\0b', 'a/../../victim', '/etc', ...HOSTILE_IDS]) {
      await assert.rejects(cache.remove(id), (error: unknown) => error instanceof OnboardError && error.code === 'MODEL_ID_INVALID');
      await assert.rejects(cache.find(id), (error: unknown) => error instanceof OnboardError && error.code === 'MODEL_ID_INVALID');
    }
    await assertNothingLost();
  });
});

describe('a cache that points outside itself', () => {
  it('a model folder that is a symlink out of the cache: listed as broken, rm unlinks only the link', async () => {
    await symlink(victim, join(cacheDir, 'models', 'evil'));
    const listed = await cli(['models', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const problems = (JSON.parse(listed.stdout) as { problems: Array<{ id: string; problem: string }> }).problems;
    assert.match(problems.find((p) => p.id === 'evil')?.problem ?? '', /outside/);
    const removed = await cli(['models', 'rm', 'evil']);
    assert.equal(removed.code, 0, removed.stderr);
    await assert.rejects(lstat(join(cacheDir, 'models', 'evil')));
    await assertNothingLost();
  });

  it('a manifest naming a file outside its folder, or a model file that is a symlink out, is never read', async () => {
    const model = await defaultModelPath();
    const cache = new ModelCache(cacheDir);
    const real = JSON.parse(await readFile(join(model, '..', 'manifest.json'), 'utf8')) as Record<string, unknown>;
    const traversal = join(cacheDir, 'models', 'traversal');
    await mkdir(traversal);
    await writeFile(join(traversal, 'manifest.json'), JSON.stringify({ ...real, id: 'traversal', file: '../../../victim/precious' }));
    const linked = join(cacheDir, 'models', 'linked');
    await mkdir(linked);
    await copyFile(model, join(victim, 'model.gguf'));
    await symlink(join(victim, 'model.gguf'), join(linked, String(real.file)));
    await writeFile(join(linked, 'manifest.json'), JSON.stringify({ ...real, id: 'linked' }));
    const renamed = join(cacheDir, 'models', 'renamed');
    await mkdir(renamed);
    await copyFile(model, join(renamed, String(real.file)));
    await writeFile(join(renamed, 'manifest.json'), JSON.stringify({ ...real, id: '../kept' }));

    const { models, problems } = await cache.list();
    assert.deepEqual(models, []);
    assert.deepEqual(problems.map((p) => p.id).sort(), ['kept', 'linked', 'renamed', 'traversal']);
    assert.match(problems.find((p) => p.id === 'linked')!.problem, /outside/);
    assert.match(problems.find((p) => p.id === 'traversal')!.problem, /file/);
    assert.match(problems.find((p) => p.id === 'renamed')!.problem, /id/);
    const run = await cli(['run', '-m', 'linked', 'Hello']);
    assert.notEqual(run.code, 0);
    for (const id of ['traversal', 'linked', 'renamed']) assert.equal((await cli(['models', 'rm', id])).code, 0);
    await assertNothingLost();
    assert.ok((await lstat(join(victim, 'model.gguf'))).isFile());
  });
});

describe('untrusted text on the terminal', () => {
  it('escape sequences in a file name and in GGUF metadata are printed escaped', async () => {
    const hostile = '\u001b]0;owned\u0007\u001b[2J\u202eevil';
    const path = join(dir, `model${'\u001b[31m'}.gguf`);
    await writeFile(path, tinyGguf(hostile));
    const inspected = await cli(['inspect', path]);
    assert.equal(inspected.code, 0, inspected.stderr);
    for (const c of ['\u001b', '\u0007', '\u202e']) assert.ok(!inspected.stdout.includes(c), `no raw U+${c.charCodeAt(0).toString(16)}`);
    assert.match(inspected.stdout, /\\u001b\]0;owned\\u0007/);
    const missing = await cli(['run', '-m', join(dir, `gone${'\u001b[2J'}.gguf`), 'Hi']);
    assert.ok(!missing.stderr.includes('\u001b'));
    assert.match(missing.stderr, /gone\\u001b\[2J\.gguf/);
  });
});
