// Hostile model files and configs: thousands of mutated GGUF headers, .pte programs, manifests and
// export configs. Each case must end in a result or a typed error, in bounded time and memory.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadExportConfig } from '../src/adapters/executorch/export-config-file.js';
import { withModelBytes } from '../src/adapters/files/model-bytes.js';
import { checkGgufHeader } from '../src/adapters/gguf/header-check.js';
import { readGguf } from '../src/adapters/gguf/reader.js';
import { ModelCache } from '../src/adapters/models/cache.js';
import { readPte } from '../src/adapters/pte/reader.js';
import { applyMutations, FUZZ_RUNS, mutations, Outcomes, tinyGguf } from './fuzz-support.js';
import { defaultModelPath, repoRoot, runCli } from './helpers.js';

let dir: string;
const reports: string[] = [];
let rssBefore: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-fuzz-'));
  rssBefore = process.memoryUsage().rss;
});
after(async () => {
  for (const line of reports) process.stdout.write(`${line}\n`);
  await rm(dir, { recursive: true, force: true });
});

/** Writes `head` and extends the file (sparse) to `size`, so offsets past the header stay in range cheaply. */
async function writeSparse(path: string, head: Buffer, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(head, 0, head.length, 0);
    if (size > head.length) await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

function assertMemoryBounded(): void {
  const grown = process.memoryUsage().rss - rssBefore;
  assert.ok(grown < 512 * 2 ** 20, `the fuzz run grew the process by ${(grown / 2 ** 20).toFixed(0)} MiB`);
}

describe('GGUF readers', () => {
  it('a small complete GGUF, mutated: counts, lengths, types, truncations', async () => {
    const base = tinyGguf();
    const path = join(dir, 'tiny.gguf');
    await writeFile(path, base);
    assert.equal((await readGguf(path)).tensorCount, 2, 'the unmutated file is valid');
    const outcomes = new Outcomes();
    await fc.assert(
      fc.asyncProperty(mutations(base.length), async (list) => {
        await writeFile(path, applyMutations(base, list));
        await outcomes.run(() => readGguf(path));
      }),
      { numRuns: FUZZ_RUNS, seed: 20261130 },
    );
    reports.push(outcomes.report('tiny GGUF'));
    assert.ok(outcomes.classes.size >= 3, 'the mutations reach valid files and several kinds of error');
    assertMemoryBounded();
  });

  it('the real model\'s header, mutated (data kept in place, sparse)', async () => {
    const model = await defaultModelPath();
    const { headerBytes } = await withModelBytes(model, checkGgufHeader);
    const { size } = await stat(model);
    const header = (await readFile(model)).subarray(0, headerBytes + 64);
    const path = join(dir, 'real.gguf');
    const outcomes = new Outcomes();
    await fc.assert(
      fc.asyncProperty(mutations(header.length), async (list) => {
        const mutated = applyMutations(header, list);
        await writeSparse(path, mutated, mutated.length < header.length ? mutated.length : size);
        await outcomes.run(() => readGguf(path));
      }),
      { numRuns: Math.max(20, Math.floor(FUZZ_RUNS / 50)), seed: 20261130 },
    );
    reports.push(outcomes.report('SmolLM2 GGUF header'));
    assertMemoryBounded();
  });
});

describe('.pte reader', () => {
  it('the exported program, mutated: offsets, vector lengths, the extended header, truncations', async () => {
    const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`, '--json'], { timeoutMs: 3_600_000 });
    assert.equal(exported.code, 0, exported.stderr);
    const pte = await readPte(JSON.parse(exported.stdout).model.path as string);
    const program = (await readFile(pte.path)).subarray(0, pte.programBytes);
    const path = join(dir, 'fuzz.pte');
    const outcomes = new Outcomes();
    await fc.assert(
      fc.asyncProperty(mutations(program.length), async (list) => {
        const mutated = applyMutations(program, list);
        await writeSparse(path, mutated, mutated.length < program.length ? mutated.length : pte.fileSize);
        await outcomes.run(() => readPte(path));
      }),
      { numRuns: FUZZ_RUNS, seed: 20261130 },
    );
    reports.push(outcomes.report('.pte program'));
    assert.ok(outcomes.classes.size >= 2);
    assertMemoryBounded();
  });
});

describe('manifests in the cache', () => {
  it('mutated manifests are listed as problems, never thrown, never followed outside the cache', async () => {
    const model = await defaultModelPath();
    const manifest = await readFile(join(model, '..', 'manifest.json'));
    const cacheDir = join(dir, 'cache');
    const modelDir = join(cacheDir, 'models', 'fuzzed');
    await mkdir(modelDir, { recursive: true });
    const fileName = (JSON.parse(manifest.toString()) as { file: string }).file;
    await copyFile(model, join(modelDir, fileName));
    const base = Buffer.from(manifest.toString().replace(/"id": "[^"]+"/, '"id": "fuzzed"'));
    const cache = new ModelCache(cacheDir);
    const outcomes = new Outcomes();
    const jsonEdits = fc.oneof(
      mutations(base.length).map((list) => applyMutations(base, list)),
      fc.record({ key: fc.constantFrom('id', 'file', 'sizeBytes', 'format', 'source', 'model', 'sha256'), value: fc.jsonValue() }).map(({ key, value }) => {
        const json = JSON.parse(base.toString()) as Record<string, unknown>;
        json[key] = value;
        return Buffer.from(JSON.stringify(json));
      }),
    );
    await fc.assert(
      fc.asyncProperty(jsonEdits, async (bytes) => {
        await writeFile(join(modelDir, 'manifest.json'), bytes);
        await outcomes.run(async () => {
          const { models, problems } = await cache.list();
          assert.equal(models.length + problems.length, 1);
          for (const m of models) assert.ok(m.path.startsWith(modelDir), m.path);
          return models.length ? 'listed' : 'listed as a problem';
        });
      }),
      { numRuns: Math.floor(FUZZ_RUNS / 3), seed: 20261130 },
    );
    reports.push(outcomes.report('manifest'));
    assert.equal(outcomes.classes.size, 2, 'some mutations keep the manifest valid, others break it');
    assertMemoryBounded();
  });
});

describe('export configs', () => {
  it('random YAML and random values in a real config give a config or EXPORT_CONFIG_INVALID', async () => {
    const base = await readFile(join(repoRoot, 'configs', 'smollm2-135m-xnnpack-8da8w.yaml'), 'utf8');
    const path = join(dir, 'config.yaml');
    const outcomes = new Outcomes();
    const key = fc.constantFrom('base.model_class', 'base.checkpoint', 'model.max_seq_length', 'model.dtype', 'backend.xnnpack.enabled', 'backend.vulkan.enabled', 'quantization.qmode', 'quantization.group_size', 'export.output_name', 'export.output_dir', 'nonsense.key');
    const texts = fc.oneof(
      fc.string({ maxLength: 400 }),
      mutations(base.length).map((list) => applyMutations(Buffer.from(base), list).toString('latin1')),
      fc.constant('a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d]\n'),
    );
    await fc.assert(
      fc.asyncProperty(texts, fc.array(fc.tuple(key, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }), async (text, overrides) => {
        await writeFile(path, text);
        await outcomes.run(() => loadExportConfig(path, overrides.map(([k, v]) => `${k}=${JSON.stringify(v)}`)));
      }),
      { numRuns: FUZZ_RUNS, seed: 20261130 },
    );
    reports.push(outcomes.report('export config'));
    assert.deepEqual([...outcomes.classes.keys()].filter((k) => k !== 'valid' && k !== 'EXPORT_CONFIG_INVALID'), []);
    assertMemoryBounded();
  });
});
