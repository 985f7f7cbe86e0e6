// A third engine needs only an adapter and one registry entry: here a FAKE engine (test/fakes)
// whose files start with "FAKEMODL" runs through the real app (resolution, the one file opener,
// --engine, inspect, chat) without any other file knowing of it. The real engines stay listed.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configFromEnv, createApp, defaultEngines, type App } from '../src/app/composition.js';
import type { EngineEntry } from '../src/core/engine-registry.js';
import { InvalidOptionError, NotAModelFileError } from '../src/core/errors.js';
import { FakeLoadedModel } from './fakes/fake-engine.js';

const MAGIC = 'FAKEMODL';
let dir: string;
let app: App;
let headerReads = 0;

/** The whole adapter: a file is the magic then the answer the FAKE model always gives. */
const fakeEntry: EngineEntry<{ answer: string }> = {
  id: 'fake',
  format: 'fake',
  fileKind: 'a FAKE test model',
  recognises: (head) => Buffer.from(head).subarray(0, MAGIC.length).toString('latin1') === MAGIC,
  readHeader: async (file) => {
    headerReads++;
    return { answer: Buffer.from(await file.read(MAGIC.length, file.size)).toString('latin1') };
  },
  targets: () => [{ engine: 'fake', backend: 'cpu', needs: ['cpu'] }],
  engine: {
    name: 'FAKE engine',
    load: async (options) => new FakeLoadedModel({ answer: options.header!.answer, contextSize: options.contextSize }),
  },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-registry-'));
  app = createApp(configFromEnv({ cacheDir: join(dir, 'cache'), offline: true, engines: (hooks) => [...defaultEngines(hooks), fakeEntry as EngineEntry] }));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the engine registry', () => {
  it('runs a third engine from one entry: recognised by its first bytes, its header read once and handed to its load', async () => {
    const path = join(dir, 'answer.model');
    await writeFile(path, `${MAGIC}Registered engines answer.`);
    headerReads = 0;
    const session = await app.openChat({ model: path, contextSize: 512 });
    try {
      const answer = await session.ask('Who answers?');
      assert.equal(answer.text, 'Registered engines answer.');
      assert.equal(answer.stats.engine, 'fake');
      assert.equal(headerReads, 1);
    } finally {
      await session.runner.close();
    }
  });

  it('lists it among the engines, inspects its files, and refuses another engine for them by name', async () => {
    const path = join(dir, 'inspect.model');
    await writeFile(path, `${MAGIC}x`);
    assert.deepEqual(app.engines.ids, ['llamacpp', 'executorch', 'fake']);
    assert.deepEqual(await app.models.inspect(path), { format: 'fake', answer: 'x' });
    await assert.rejects(app.openChat({ model: path, engine: 'llamacpp' }), (error: unknown) => error instanceof InvalidOptionError && /a FAKE test model/.test(error.message));
    await assert.rejects(app.openChat({ model: path, engine: 'nope' }), (error: unknown) => error instanceof InvalidOptionError && /llamacpp, executorch, fake/.test(error.message));
  });

  it('names every registered format when a file is none of them', async () => {
    const path = join(dir, 'foreign.bin');
    await writeFile(path, 'neither GGUF, nor a program, nor FAKE');
    await assert.rejects(app.models.inspect(path), (error: unknown) => error instanceof NotAModelFileError && /a GGUF model or an ExecuTorch \.pte program or a FAKE test model/.test(error.hint ?? ''));
  });
});
