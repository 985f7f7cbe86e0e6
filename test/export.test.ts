// Model preparation: `onboard export` with the real ExecuTorch exporter, and
// `onboard inspect` checked against ExecuTorch's own Python API.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import type { PteManifest } from '../src/adapters/models/manifest.js';
import type { PteSummary } from '../src/adapters/pte/reader.js';
import { cliPath, defaultModelPath, repoRoot, runCli } from './helpers.js';

const DEFAULT_CONFIG = join(repoRoot, 'configs/smollm2-135m-xnnpack-8da8w.yaml');
const EXPORT_TIMEOUT_MS = 45 * 60_000;

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-export-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, text);
  return path;
}

const VALID = `base:
  model_class: smollm2
  checkpoint: model:smollm2-135m-instruct-q4_1
backend:
  xnnpack: {enabled: true}
quantization:
  qmode: 8da4w
  group_size: 32
export:
  output_name: test-never-exported
`;

async function exportDirsLeft(): Promise<string[]> {
  const cacheRoot = join(process.env.ONBOARD_CACHE_DIR ?? join(process.env.HOME ?? '', '.cache/onboard'));
  const tmp = await readdir(join(cacheRoot, 'tmp')).catch(() => []);
  const models = await readdir(join(cacheRoot, 'models')).catch(() => []);
  return [...tmp.filter((n) => n.startsWith('export')), ...models.filter((n) => n.startsWith('test-'))];
}

describe('onboard export: config and input errors, before any slow step', () => {
  const cases: Array<{ name: string; config: string; args?: string[]; env?: NodeJS.ProcessEnv; exit: number; expect: RegExp[] }> = [
    {
      name: 'a misspelt key is named, with the keys allowed there',
      config: VALID.replace('xnnpack: {enabled: true}', 'xnnpak: {enabled: true}'),
      exit: 10,
      expect: [/EXPORT_CONFIG_INVALID/, /backend\.xnnpak: unknown key; known keys here: xnnpack, vulkan, qnn/],
    },
    {
      name: 'a bad value names the key and the allowed values',
      config: VALID.replace('qmode: 8da4w', 'qmode: 4bit'),
      exit: 10,
      expect: [/quantization\.qmode: got "4bit"; allowed: 8da4w, 8da8w, int8, none/],
    },
    {
      name: 'an unsupported model class lists the supported ones',
      config: VALID.replace('model_class: smollm2', 'model_class: motif'),
      exit: 10,
      expect: [/base\.model_class: got "motif"; allowed: smollm2, llama3_2/],
    },
    {
      name: 'a flag override is validated like the file',
      config: VALID,
      args: ['--set', 'quantization.group_size=48'],
      exit: 10,
      expect: [/quantization\.group_size: must be one of 0, 32, 64, 128, 256/],
    },
    {
      name: 'smoothing is refused where no activations are quantized',
      config: VALID,
      args: ['--set', 'quantization.smooth_alpha=0.4', '--set', 'quantization.qmode=int8'],
      exit: 10,
      expect: [/quantization\.smooth_alpha: smooths the activations that 8da4w and 8da8w quantize; int8 does not/],
    },
    {
      name: 'smoothing outside the Llama family names the classes it takes',
      config: VALID.replace('model_class: smollm2', 'model_class: qwen3_0_6b'),
      args: ['--set', 'quantization.smooth_alpha=0.5'],
      exit: 10,
      expect: [/quantization\.smooth_alpha: is implemented for the Llama family \(smollm2, llama3_2, llama3_1, llama3\), not qwen3_0_6b/],
    },
    {
      name: 'a smoothing strength outside (0, 1) is refused',
      config: VALID,
      args: ['--set', 'quantization.smooth_alpha=1.5'],
      exit: 10,
      expect: [/quantization\.smooth_alpha/],
    },
    {
      name: 'Vulkan next to XNNPACK is refused: the exporter would ignore Vulkan',
      config: VALID.replace('xnnpack: {enabled: true}', 'xnnpack: {enabled: true}\n  vulkan: {enabled: true}').replace('qmode: 8da4w', 'qmode: none'),
      exit: 10,
      expect: [/backend\.xnnpack\.enabled: must be false with backend\.vulkan/],
    },
    {
      name: 'a missing checkpoint is named',
      config: VALID.replace('model:smollm2-135m-instruct-q4_1', '/nonexistent/model-dir'),
      exit: 10,
      expect: [/EXPORT_SOURCE_INVALID/, /base\.checkpoint \/nonexistent\/model-dir does not exist/],
    },
    {
      name: 'a Meta checkpoint without params says which key to set',
      config: VALID.replace('model:smollm2-135m-instruct-q4_1', '__SCRATCH__/consolidated.pth'),
      exit: 10,
      expect: [/needs base\.params/],
    },
    {
      name: 'QNN without the Qualcomm SDK names what is missing and how to get it',
      config: VALID.replace('xnnpack: {enabled: true}', 'qnn: {enabled: true, soc_model: SM8650}').replace('qmode: 8da4w', 'qmode: none'),
      env: { QNN_SDK_ROOT: '' },
      exit: 11,
      expect: [/EXPORT_BACKEND_UNAVAILABLE/, /QNN_SDK_ROOT is not set/, /Qualcomm/],
    },
    {
      name: 'a YAML syntax error is reported as a config error',
      config: 'base: [unclosed\n',
      exit: 10,
      expect: [/EXPORT_CONFIG_INVALID/, /YAML/],
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      await writeFile(join(scratch, 'consolidated.pth'), 'not really a checkpoint');
      const config = await writeConfig('bad.yaml', c.config.replace('__SCRATCH__', scratch));
      const result = await runCli(['export', '--config', config, ...(c.args ?? [])], { env: c.env, timeoutMs: 60_000 });
      assert.equal(result.code, c.exit, result.stderr);
      for (const pattern of c.expect) assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /Traceback|at .*\.js:\d+/, 'no stack trace');
      assert.deepEqual(await exportDirsLeft(), []);
    });
  }

  it('a bad source is found before the toolchain is touched: no 4 GB install for a typo', async () => {
    const venv = join(scratch, 'never-created-venv');
    const config = await writeConfig('missing-source.yaml', VALID.replace('model:smollm2-135m-instruct-q4_1', '/nonexistent/model-dir'));
    const result = await runCli(['export', '--config', config], { env: { ONBOARD_VENV: venv }, timeoutMs: 60_000 });
    assert.equal(result.code, 10, result.stderr);
    assert.match(result.stderr, /EXPORT_SOURCE_INVALID/);
    assert.doesNotMatch(result.stderr, /setting it up|creating the virtual environment/);
    await assert.rejects(stat(venv));
  });

  it('a config file that does not exist is a config error, not a missing model', async () => {
    const result = await runCli(['export', '--config', join(scratch, 'no-such-config.yaml')]);
    assert.equal(result.code, 10, result.stderr);
    assert.match(result.stderr, /EXPORT_CONFIG_INVALID/);
    assert.match(result.stderr, /does not exist/);
  });

  it('an unsupported architecture in a Hugging Face directory is named by the converter, and nothing is installed', async () => {
    const dir = join(scratch, 'gpt-neox');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox' }));
    await writeFile(join(dir, 'tokenizer.json'), '{}');
    await writeFile(join(dir, 'model.safetensors'), 'x');
    const config = await writeConfig('gpt-neox.yaml', VALID.replace('model:smollm2-135m-instruct-q4_1', dir).replace('test-never-exported', 'test-gpt-neox'));
    const result = await runCli(['export', '--config', config], { timeoutMs: 300_000 });
    assert.equal(result.code, 10, result.stderr);
    assert.match(result.stderr, /GPTNeoXForCausalLM.*cannot be converted/);
    assert.match(result.stderr, /Supported: .*LlamaForCausalLM.*MotifForCausalLM/);
    assert.deepEqual(await exportDirsLeft(), []);
  });
});

describe('onboard export: the default config, for real', { timeout: EXPORT_TIMEOUT_MS }, () => {
  let manifest: PteManifest;
  let ptePath: string;

  before(async () => {
    await defaultModelPath();
    const result = await runCli(['export', '--config', DEFAULT_CONFIG, '--json'], { timeoutMs: EXPORT_TIMEOUT_MS });
    assert.equal(result.code, 0, result.stderr);
    const outcome = JSON.parse(result.stdout);
    manifest = outcome.model.manifest;
    ptePath = outcome.model.path;
  });

  it('installs the .pte, tokenizer, manifest and log in the cache, verified by the runtime', async () => {
    assert.equal(manifest.format, 'pte');
    assert.deepEqual(manifest.backends, ['XnnpackBackend']);
    assert.equal(manifest.quantization, '8da8w-per-channel, smoothed 0.4, embedding 8,0');
    // What quantization kept, measured at export: a share of whole positions, over at least 90. The
    // figure itself moves with the CPU's kernels (the unsmoothed file measured 92.7% on AVX2 and 88.5%
    // on AVX-512, the same bytes), so the 90% target is a benchmark figure (docs/benchmarks.md); a
    // broken export agrees on almost none.
    const quality = manifest.quality!;
    assert.ok(quality && quality.positions >= 90, JSON.stringify(quality));
    assert.ok(Number.isInteger(Math.round(quality.top1Agreement * quality.positions * 1e6) / 1e6), `${quality.top1Agreement} of ${quality.positions} is a whole count`);
    assert.ok(quality.top1Agreement >= 0.75, `most of the model's choices are kept: ${JSON.stringify(quality)}`);
    assert.equal(manifest.vocabularySize, 49152);
    assert.equal(manifest.maxSeqLength, 512);
    assert.equal(manifest.bosId, 1);
    assert.deepEqual(manifest.eosIds, [2]);
    assert.match(manifest.sha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.source.sha256, 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53');
    assert.equal(manifest.versions.executorch, '1.5.1');
    assert.deepEqual(manifest.verification?.logitsShape, [1, 49152]);
    assert.ok(manifest.verification!.continuation.trim().length > 0, 'a greedy continuation');
    const dir = join(ptePath, '..');
    const files = await readdir(dir);
    for (const file of ['export.log', 'manifest.json', `${manifest.id}.pte`, 'tokenizer.json']) assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
    assert.deepEqual(files.filter((f) => f.endsWith('.part')), [], 'no partial files');
    assert.equal((await stat(ptePath)).size, manifest.sizeBytes);
    assert.match(await readFile(join(dir, 'export.log'), 'utf8'), /XnnpackPartitioner/);

    // The on-device runner's tokenizer (ExecuTorch's C++ HF tokenizer) loads the installed file.
    const cpp = spawnSync(
      join(venvDir(), 'bin/python'),
      ['-c', `from pytorch_tokenizers import CppHFTokenizer\nt = CppHFTokenizer()\nt.load(${JSON.stringify(join(dir, 'tokenizer.json'))})\nprint(t.encode("The capital of France is", 0, 0))`],
      { encoding: 'utf8' },
    );
    assert.equal(cpp.status, 0, cpp.stderr);
    assert.equal(cpp.stdout.trim().split('\n').at(-1), '[504, 3575, 282, 4649, 314]');

    const list = await runCli(['models', 'list']);
    assert.match(list.stdout, new RegExp(`${manifest.id} .* pte 8da8w-per-channel.* XnnpackBackend`));
  });

  it('a second export with the same config, source and toolchain reuses the cached one', async () => {
    const result = await runCli(['export', '--config', DEFAULT_CONFIG]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /is up to date/);
  });

  it('inspect reads what ExecuTorch\'s own API reads: methods, backends, operators, metadata', async () => {
    const ours = await runCli(['inspect', '--json', ptePath]);
    assert.equal(ours.code, 0, ours.stderr);
    const summary = JSON.parse(ours.stdout) as PteSummary;
    const reference = spawnSync(join(venvDir(), 'bin/python'), ['-m', 'onboard_executorch.describe', ptePath], { cwd: join(repoRoot, 'python'), encoding: 'utf8' });
    assert.equal(reference.status, 0, reference.stderr);
    const theirs = JSON.parse(reference.stdout) as { method_names: string[]; metadata: unknown; segments: unknown; methods: Array<{ name: string; operators: string[]; delegates: string[]; instructions: number; inputs: number }> };

    assert.deepEqual(summary.methods.map((m) => m.name).sort(), theirs.method_names);
    for (const method of theirs.methods) {
      const mine = summary.methods.find((m) => m.name === method.name)!;
      assert.deepEqual(mine.operators, method.operators, `operators of ${method.name}`);
      assert.deepEqual(mine.delegates.map((d) => d.backend), method.delegates, `delegates of ${method.name}`);
      assert.equal(mine.instructions, method.instructions, `instructions of ${method.name}`);
      assert.equal(mine.inputs.length, method.inputs);
    }
    assert.deepEqual(summary.metadata, theirs.metadata);
    assert.deepEqual(summary.segments, theirs.segments);
    assert.equal(summary.llm.vocabSize, 49152);
    assert.equal(summary.llm.useKvCache, true);
    assert.equal(summary.llm.useSdpaWithKvCache, true);
    assert.deepEqual(summary.backends, ['XnnpackBackend']);
    const forward = summary.methods.find((m) => m.name === 'forward')!;
    const firstInput = forward.inputs[0]!;
    assert.equal(firstInput.kind, 'tensor');
    assert.equal(firstInput.kind === 'tensor' && firstInput.dtype, 'int64');
    assert.ok(forward.plannedMemoryBytes > 0);

    const text = await runCli(['inspect', ptePath]);
    assert.match(text.stdout, /backends\s+XnnpackBackend/);
    assert.match(text.stdout, /method forward/);
  });

  it('inspect rejects a truncated .pte with a typed error, wherever it was cut', async () => {
    const size = (await stat(ptePath)).size;
    for (const keep of [Math.floor(size / 2), 2000, 40]) {
      const cut = join(scratch, `cut-${keep}.pte`);
      await copyFile(ptePath, cut);
      await truncate(cut, keep);
      const result = await runCli(['inspect', cut]);
      assert.equal(result.code, 3, `${keep} bytes: ${result.stderr}`);
      assert.match(result.stderr, /MODEL_CORRUPT/);
    }
  });

  it('a .pte copied without its tokenizer.json is MODEL_INCOMPLETE, naming the file to bring', async () => {
    const lonely = join(scratch, 'lonely');
    await mkdir(lonely, { recursive: true });
    await copyFile(ptePath, join(lonely, 'model.pte'));
    const result = await runCli(['run', '--model', join(lonely, 'model.pte'), '--max-tokens', '2', 'Hi']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /MODEL_INCOMPLETE/);
    assert.match(result.stderr, /tokenizer\.json/);
  });

  it('inspect names foreign files and reads GGUF', async () => {
    const png = join(scratch, 'image.pte');
    await writeFile(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0]));
    const foreign = await runCli(['inspect', png]);
    assert.equal(foreign.code, 3);
    assert.match(foreign.stderr, /PNG image.*MODEL_NOT_A_MODEL_FILE/s);

    const gguf = await runCli(['inspect', '--json', await defaultModelPath()]);
    assert.equal(gguf.code, 0, gguf.stderr);
    const info = JSON.parse(gguf.stdout);
    assert.equal(info.format, 'gguf');
    assert.equal(info.architecture, 'llama');
    assert.equal(info.vocabularySize, 49152);
    assert.equal(info.quantization, 'Q4_1');
    assert.ok(info.chatTemplate.length > 0);
  });

  it('Ctrl-C during an export installs nothing and leaves no staging files', async () => {
    const child = spawn(process.execPath, [cliPath, 'export', '--config', DEFAULT_CONFIG, '--output-name', 'test-cancelled', '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const converting = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/convert /.test(stderr)) resolve();
      }),
    );
    await converting;
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /CANCELLED/);
    assert.deepEqual(await exportDirsLeft(), []);
  });
});
