// A model with several artifacts, chosen by what this machine has, with real failures: a preferred
// .pte whose XNNPACK delegate blob is damaged on disk (same size, so only loading finds it), one whose
// weights are damaged (it loads; its first forward gives NaN), and a Vulkan .pte (of a SYNTHETIC
// two-layer checkpoint: the refusal is the runtime's, whatever the model), which this ExecuTorch
// runtime cannot run. Each model lives in its own scratch cache
// built from the real exports and the default GGUF.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readPte } from '../src/adapters/pte/reader.js';
import { defaultModelPath, repoRoot, runCli } from './helpers.js';
import { syntheticExport } from './synthetic-export.js';

const EXPORT_TIMEOUT_MS = 60 * 60_000;
const PROMPT = 'What is the capital of France?';
const hasVulkanLoader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].some(existsSync);

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-chain-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The installed folder of an export (made, or reused from the user's cache, by `onboard export`). */
async function exported(config: string): Promise<string> {
  const result = await runCli(['export', '--json', '-c', join(repoRoot, 'configs', config)], { timeoutMs: EXPORT_TIMEOUT_MS });
  assert.equal(result.code, 0, result.stderr);
  return dirname(JSON.parse(result.stdout).model.path);
}

/**
 * Puts an installed model folder into a scratch cache as artifact `id` of `model`. The model file is
 * hard-linked (a symlink out of the cache is refused by design), or copied when `copy` (a file the
 * test will damage) or when the scratch folder is on another filesystem; the rest is copied and
 * the manifest renamed.
 */
async function stage(cache: string, from: string, id: string, model: string, copy = false): Promise<string> {
  const to = join(cache, 'models', id);
  await mkdir(to, { recursive: true });
  const manifest = JSON.parse(await readFile(join(from, 'manifest.json'), 'utf8'));
  for (const name of await readdir(from)) {
    if (name === 'manifest.json') continue;
    if (name === manifest.file && !copy) await link(join(from, name), join(to, name)).catch(() => copyFile(join(from, name), join(to, name)));
    else await copyFile(join(from, name), join(to, name));
  }
  await writeFile(join(to, 'manifest.json'), JSON.stringify({ ...manifest, id, model }));
  return join(to, manifest.file);
}

/** Overwrites the first XNNPACK delegate blob with 0xFF: the file keeps its size and its program reads fine. */
async function damageFirstDelegate(ptePath: string): Promise<void> {
  const pte = await readPte(ptePath);
  const delegate = pte.methods.find((m) => m.name === 'forward')!.delegates[0]!;
  const segment = pte.segments.find((s) => s.size === delegate.dataBytes && s.offset > 0)!;
  const file = await open(ptePath, 'r+');
  await file.write(Buffer.alloc(segment.size, 0xff), 0, segment.size, pte.segmentBaseOffset + segment.offset);
  await file.close();
  assert.deepEqual((await readPte(ptePath)).backends, ['XnnpackBackend'], 'the damaged program still reads');
}

/** Overwrites the constant segment (weights and their scales) with 0xFF: NaN scales; the program still loads. */
async function damageWeights(ptePath: string): Promise<void> {
  const pte = await readPte(ptePath);
  const constants = pte.segments[0]!;
  assert.equal(constants.size, pte.constantBytes, 'the first segment holds the constants');
  const file = await open(ptePath, 'r+');
  await file.write(Buffer.alloc(constants.size, 0xff), 0, constants.size, pte.segmentBaseOffset + constants.offset);
  await file.close();
}

async function runJson(cache: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['run', '--json', '--temperature', '0', '--max-tokens', '8', ...args, PROMPT], { env: { ONBOARD_CACHE_DIR: cache, ...env }, timeoutMs: 300_000 });
}

describe('several artifacts per model', () => {
  let cache: string;
  let cpuDir: string;

  before(async () => {
    cpuDir = await exported('smollm2-135m-xnnpack-8da8w.yaml');
    cache = join(scratch, 'corrupt');
    await stage(cache, dirname(await defaultModelPath()), 'chat-gguf', 'chat');
    await damageFirstDelegate(await stage(cache, cpuDir, 'chat-xnnpack', 'chat', true));
  });

  it('models list and doctor show the model, its artifacts and the order this machine tries them in', async () => {
    const list = await runCli(['models', 'list'], { env: { ONBOARD_CACHE_DIR: cache } });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^chat \(2 artifacts/m);
    assert.match(list.stdout, /chat-xnnpack +\d+\.\d MiB +pte 8da8w-per-channel, smoothed 0.4, embedding 8,0 +executorch on XnnpackBackend/);
    assert.match(list.stdout, /chat-gguf +93\.8 MiB +gguf Q4_1 +llama\.cpp on cuda, vulkan or cpu/);
    const doctor = JSON.parse((await runCli(['doctor', '--json', '--no-verify'], { env: { ONBOARD_CACHE_DIR: cache } })).stdout);
    const chat = doctor.models.find((m: { model: string }) => m.model === 'chat');
    // The damaged file is not found by planning (its program reads fine): only loading it does.
    // (On a machine with a real GPU the GGUF's GPU target comes first; here the CPU ones are compared.)
    const onCpu = chat.tryInOrder.filter((t: { target: string }) => t.target === 'xnnpack' || t.target === 'cpu').map((t: { artifact: string; target: string }) => `${t.artifact}@${t.target}`);
    assert.deepEqual(onCpu, ['chat-xnnpack@xnnpack', 'chat-gguf@cpu']);
    assert.deepEqual(doctor.device.priority, ['npu', 'gpu', 'cpu']);
  });

  it('a corrupt preferred artifact fails to load; the next one answers, and the stats and log say why', async () => {
    const result = await runJson(cache, ['--model', 'chat']);
    assert.equal(result.code, 0, result.stderr);
    const { text, stats } = JSON.parse(result.stdout);
    assert.ok(text.length > 0);
    assert.equal(stats.artifact, 'chat-gguf');
    assert.equal(stats.engine, 'llama.cpp');
    assert.match(stats.artifactReason, /^chat-gguf \(gguf, llama\.cpp on cpu\), cpu, by priority npu,gpu,cpu; passed over: .*chat-xnnpack \(xnnpack\) failed: load failed: ENGINE_FAILED/);
    assert.match(stats.backendReason, /chosen for chat-gguf/);
    assert.match(result.stderr, /chat: chat-xnnpack on xnnpack failed: load failed: ENGINE_FAILED: .*could not load/);
    assert.match(result.stderr, /chat: chat-gguf on cpu used/);
  });

  it('when no artifact can run, NO_RUNNABLE_ARTIFACT lists each one with its reason', async () => {
    const result = await runJson(cache, ['--model', 'chat', '--engine', 'executorch']);
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /No artifact of chat can run on this device: .*chat-gguf \(any\) skipped: --engine executorch cannot run a gguf.*chat-xnnpack \(xnnpack\) failed: load failed/);
    assert.match(result.stderr, /NO_RUNNABLE_ARTIFACT/);
  });

  it('an unknown priority item is named', async () => {
    const result = await runJson(cache, ['--model', 'chat', '--priority', 'npu,tpu']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--priority: unknown item tpu; use npu, gpu, cpu, qnn/);
  });

  it('an artifact that loads but whose first forward fails is passed over too', async () => {
    const nan = join(scratch, 'nan');
    await stage(nan, dirname(await defaultModelPath()), 'chat-gguf', 'chat');
    await damageWeights(await stage(nan, cpuDir, 'chat-xnnpack', 'chat', true));
    const result = await runJson(nan, ['--model', 'chat']);
    assert.equal(result.code, 0, result.stderr);
    const { stats } = JSON.parse(result.stdout);
    assert.equal(stats.artifact, 'chat-gguf');
    assert.match(stats.artifactReason, /chat-xnnpack \(xnnpack\) failed: first forward failed: ENGINE_FAILED: .*BAD_LOGITS: the forward gave non-finite logits/);
  });

  it('an intact artifact is used first when it is preferred', async () => {
    const intact = join(scratch, 'intact');
    await stage(intact, dirname(await defaultModelPath()), 'chat-gguf', 'chat');
    await stage(intact, cpuDir, 'chat-xnnpack', 'chat');
    const result = await runJson(intact, ['--model', 'chat']);
    assert.equal(result.code, 0, result.stderr);
    const { text, stats } = JSON.parse(result.stdout);
    assert.equal(stats.artifact, 'chat-xnnpack');
    assert.equal(stats.engine, 'executorch');
    assert.ok(text.trim().length > 0, 'the ExecuTorch artifact answered');
  });
});

describe('an artifact that needs a backend this runtime lacks', { skip: hasVulkanLoader ? false : 'no Vulkan loader (apt-get install libvulkan1 mesa-vulkan-drivers)' }, () => {
  it('a Vulkan .pte is tried on the Vulkan device, fails with BACKEND_UNAVAILABLE, and the GGUF runs there instead', async () => {
    const cache = join(scratch, 'vulkan');
    const { pte } = await syntheticExport('smollm2', scratch, { backend: 'vulkan' });
    assert.deepEqual((await readPte(pte)).backends, ['VulkanBackend']);
    await stage(cache, dirname(pte), 'gpu-vulkan', 'gpu');
    await stage(cache, dirname(await defaultModelPath()), 'gpu-gguf', 'gpu');
    // llvmpipe (Mesa's Vulkan on the CPU) is a software device: only used when vulkan is named.
    const result = await runJson(cache, ['--model', 'gpu', '--priority', 'vulkan,cpu'], { GGML_VK_VISIBLE_DEVICES: '0' });
    assert.equal(result.code, 0, result.stderr);
    const { stats } = JSON.parse(result.stdout);
    assert.equal(stats.artifact, 'gpu-gguf');
    assert.equal(stats.backend, 'vulkan');
    assert.match(stats.artifactReason, /gpu-vulkan \(vulkan\) failed: load failed: BACKEND_UNAVAILABLE: .*this ExecuTorch runtime has no VulkanBackend \(it has .*XnnpackBackend/);
  });
});
