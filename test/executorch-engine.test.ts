// The ExecuTorch engine behind the core's port: the real runtime in its host
// process, on the .pte that `onboard export` made from the default model.
import { performanceClock } from '../src/adapters/system/clock.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { ChatSession } from '../src/core/chat-session.js';
import type { LoadedModel } from '../src/core/engine.js';
import { OnboardError } from '../src/core/errors.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { REQUIREMENTS_FILE, venvDir } from '../src/adapters/executorch/toolchain.js';
import { assertFriendly, defaultModelPath, repoRoot, runCli } from './helpers.js';

const EXPORT_TIMEOUT_MS = 45 * 60_000;

for (const runtime of ['native', 'python'] as const) describe(`the ExecuTorch engine on the ${runtime} runtime`, { timeout: EXPORT_TIMEOUT_MS }, () => {
  let model: LoadedModel & { hostPid?: number };
  let runner: ModelRunner;
  const restarts: string[] = [];

  before(async () => {
    // The export is cached by config and source, so this is quick after the first run.
    const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`, '--json'], { timeoutMs: EXPORT_TIMEOUT_MS });
    assert.equal(exported.code, 0, exported.stderr);
    const path = JSON.parse(exported.stdout).model.path as string;
    if (runtime === 'native') await setupNativeRuntime({ log: () => {} }); // a no-op when installed
    model = await new ExecuTorchEngine({ runtime, onRestart: (reason) => restarts.push(reason) }).load({ modelPath: path, contextSize: 512, target: 'auto' });
    runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, onWarning: () => {} });
  });
  after(async () => {
    await runner?.close();
  });

  it('answers a chat with stats, and reuses the KV cache on the next turn', async () => {
    const chat = new ChatSession(runner, { systemPrompt: 'You are a helpful assistant.' });
    let text = '';
    let stats;
    for await (const chunk of chat.send('What is the capital of France?', { sampling: { temperature: 0 }, maxTokens: 24 })) {
      if (chunk.type === 'text') text += chunk.text;
      else stats = chunk.stats;
    }
    assert.ok(text.trim().length > 0);
    assert.equal(stats!.engine, 'executorch');
    assert.ok(stats!.decodeTokens > 0 && stats!.decodeTokensPerSecond > 0);
    assert.ok(stats!.prefillTokens > 10);

    let second;
    for await (const chunk of chat.send('And of Germany?', { sampling: { temperature: 0 }, maxTokens: 16 })) if (chunk.type === 'done') second = chunk.stats;
    assert.ok(second!.reusedTokens >= stats!.prefillTokens, `reused ${second!.reusedTokens} cached tokens of ${second!.promptTokens}`);
    assert.ok(second!.prefillTokens < second!.promptTokens / 2, 'only the new turn is prefilled');
  });

  it('the CLI picks the engine from the file: a .pte runs on ExecuTorch, and --engine llamacpp is refused for it', async () => {
    const run = await runCli(['run', '--json', '--model', 'smollm2-135m-xnnpack-8da8w', '--temperature', '0', '--max-tokens', '12', 'What is the capital of France?'], {
      timeoutMs: 180_000,
      env: { ONBOARD_EXECUTORCH_RUNTIME: runtime },
    });
    assert.equal(run.code, 0, run.stderr);
    const { text, stats } = JSON.parse(run.stdout);
    assert.ok(text.trim().length > 0);
    assert.equal(stats.engine, 'executorch');
    assert.match(stats.backendReason, /XnnpackBackend/);
    assert.match(stats.backendReason, runtime === 'native' ? /native runtime \(no Python\)/ : /Python host/);

    const wrong = await runCli(['run', '--model', 'smollm2-135m-xnnpack-8da8w', '--engine', 'llamacpp', 'Hi']);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /--engine executorch.*INVALID_OPTION/s);
  });

  it('an abort stops the answer within a token, and the next request runs', async () => {
    const controller = new AbortController();
    let tokens = 0;
    let stop;
    for await (const chunk of runner.chat([{ role: 'user', content: 'Write a long story about a car.' }], { sampling: { temperature: 0 }, maxTokens: 200, signal: controller.signal })) {
      if (chunk.type === 'text' && ++tokens === 3) controller.abort();
      if (chunk.type === 'done') stop = chunk.stats.stopReason;
    }
    assert.equal(stop, 'abort');
    assert.ok(tokens <= 4, `${tokens} chunks after the abort`);
    let text = '';
    for await (const chunk of runner.chat([{ role: 'user', content: 'Name a fruit.' }], { sampling: { temperature: 0 }, maxTokens: 6 })) if (chunk.type === 'text') text += chunk.text;
    assert.ok(text.trim().length > 0);
  });

  if (runtime === 'native') {
    it('no Python and no libtorch: the host process maps only the runtime, the addon and system libraries', async () => {
      const maps = await readFile(`/proc/${model.hostPid}/maps`, 'utf8');
      const libraries = [...new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((path) => path.startsWith('/')))];
      assert.ok(libraries.some((path) => path.endsWith('onboard_executorch.node')), 'the addon is loaded');
      assert.ok(libraries.some((path) => path.endsWith('/libexecutorch.so')), 'the runtime is loaded');
      const forbidden = libraries.filter((path) => /libtorch|libpython|libc10|_C\.|site-packages/.test(path));
      assert.deepEqual(forbidden, []);
      const command = await readFile(`/proc/${model.hostPid}/cmdline`, 'utf8');
      assert.match(command, /node.*native-host\.js/);
    });
  }

  it('same seed, same answer; control tokens typed by a user stay text', async () => {
    const chat = new ChatSession(runner, {});
    const answer = async () => {
      await runner.clearCaches();
      let text = '';
      for await (const chunk of chat.send('Tell me a word.', { sampling: { temperature: 1, seed: 7 }, maxTokens: 12 })) if (chunk.type === 'text') text += chunk.text;
      chat.reset();
      return text;
    };
    assert.equal(await answer(), await answer());
    const ids = model.tokenize('say <|im_end|> now', { special: false });
    assert.ok(!ids.includes(2), 'no <|im_end|> control token');
    assert.ok(model.tokenize('<|im_end|>', { special: true }).includes(2));
  });

  it('a host killed mid-answer fails that answer with ENGINE_FAILED, restarts, and the conversation goes on', async () => {
    const chat = new ChatSession(runner, {});
    let firstAnswer = '';
    for await (const chunk of chat.send('Name a colour.', { sampling: { temperature: 0 }, maxTokens: 8 })) if (chunk.type === 'text') firstAnswer += chunk.text;
    const pid = model.hostPid!;
    let failure: unknown;
    let tokens = 0;
    try {
      for await (const chunk of chat.send('Write a long story about a car.', { sampling: { temperature: 0 }, maxTokens: 200 })) {
        if (chunk.type === 'text' && ++tokens === 3) process.kill(pid, 'SIGKILL');
      }
    } catch (error) {
      failure = error;
    }
    assert.ok(failure instanceof OnboardError, String(failure));
    assert.equal(failure.code, 'ENGINE_FAILED');
    assert.match(failure.message, /SIGKILL/);
    assert.deepEqual(
      chat.history.map((m) => m.role),
      ['user', 'assistant'],
      'the failed turn is not added; the earlier turn is kept',
    );
    assert.equal(chat.history[1]!.content.trim(), firstAnswer.trim());

    let text = '';
    for await (const chunk of chat.send('Name a fruit.', { sampling: { temperature: 0 }, maxTokens: 8 })) if (chunk.type === 'text') text += chunk.text;
    assert.ok(text.trim().length > 0);
    assert.notEqual(model.hostPid, pid, 'a new host process');
    assert.equal(restarts.length, 1);
  });
});

describe('a broken Python environment', () => {
  it('a venv whose python cannot start the host is TOOLCHAIN_MISSING with the way out, not a bug', async () => {
    const venv = await mkdtemp(join(tmpdir(), 'onboard-broken-venv-'));
    try {
      await mkdir(join(venv, 'bin'));
      await writeFile(join(venv, 'bin', 'python'), '#!/bin/sh\necho "error while loading shared libraries: libpython3.11.so.1.0" >&2\nexit 127\n');
      await chmod(join(venv, 'bin', 'python'), 0o755);
      // Stamped as set up from the current requirements: only running it shows it is broken.
      await writeFile(join(venv, 'onboard-requirements.sha256'), `${createHash('sha256').update(await readFile(REQUIREMENTS_FILE)).digest('hex')}\n`);
      const result = await runCli(['run', '--model', 'smollm2-135m-xnnpack-8da8w', '--max-tokens', '2', 'Hi'], { env: { ONBOARD_VENV: venv, ONBOARD_EXECUTORCH_RUNTIME: 'python' } });
      assertFriendly(result, 'TOOLCHAIN_MISSING', 11);
      assert.match(result.stderr, /onboard setup executorch/);
    } finally {
      await rm(venv, { recursive: true, force: true });
    }
  });
});

describe('choosing the ExecuTorch runtime', () => {
  it('without the native runtime, auto falls back to the Python host and says why; native alone is RUNTIME_MISSING with the way out', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'onboard-no-runtime-'));
    try {
      const fallback = await runCli(['run', '--json', '--model', 'smollm2-135m-xnnpack-8da8w', '--max-tokens', '2', 'Hi'], { env: { ONBOARD_RUNTIME_DIR: empty }, timeoutMs: 180_000 });
      assert.equal(fallback.code, 0, fallback.stderr);
      assert.match(JSON.parse(fallback.stdout).stats.backendReason, /Python host, because the native runtime is not installed/);
      const missing = await runCli(['run', '--model', 'smollm2-135m-xnnpack-8da8w', '--max-tokens', '2', 'Hi'], { env: { ONBOARD_RUNTIME_DIR: empty, ONBOARD_EXECUTORCH_RUNTIME: 'native' } });
      assertFriendly(missing, 'RUNTIME_MISSING', 11);
      assert.match(missing.stderr, /onboard setup runtime/);
      const wrong = await runCli(['run', '--model', 'smollm2-135m-xnnpack-8da8w', 'Hi'], { env: { ONBOARD_EXECUTORCH_RUNTIME: 'torch' } });
      assertFriendly(wrong, 'INVALID_OPTION', 2);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('a .pte that is not a language model', () => {
  it('is MODEL_NOT_AN_LLM, saying what its forward takes, before any host starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onboard-not-llm-'));
    try {
      // A real ExecuTorch program, made here with the toolchain: one linear layer over a float tensor.
      const program = join(dir, 'linear.pte');
      const made = spawnSync(join(venvDir(), 'bin', 'python'), ['-c', [
        'import sys, torch',
        'from executorch.exir import to_edge',
        'model = torch.nn.Linear(4, 2).eval()',
        'exported = torch.export.export(model, (torch.randn(1, 4),))',
        'open(sys.argv[1], "wb").write(to_edge(exported).to_executorch().buffer)',
      ].join('\n'), program], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(made.status, 0, made.stderr.slice(-2000));
      const result = await runCli(['run', '--model', program, 'Hi']);
      assertFriendly(result, 'MODEL_NOT_AN_LLM', 3);
      assert.match(result.stderr, /forward takes float32\[1, 4\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a .pte whose tokenizer is elsewhere', { timeout: EXPORT_TIMEOUT_MS }, () => {
  it('without one it is MODEL_INCOMPLETE naming --tokenizer; --tokenizer takes the file or its folder; a GGUF model refuses it', async () => {
    const exported = await runCli(['export', '--config', `${repoRoot}/configs/smollm2-135m-xnnpack-8da8w.yaml`, '--json'], { timeoutMs: EXPORT_TIMEOUT_MS });
    assert.equal(exported.code, 0, exported.stderr);
    const cached = JSON.parse(exported.stdout).model.path as string;
    const dir = await mkdtemp(join(tmpdir(), 'onboard-bare-pte-'));
    try {
      const bare = join(dir, 'program.pte');
      await copyFile(cached, bare);
      const ask = (extra: string[]) => runCli(['run', '--json', '--model', bare, ...extra, '--temperature', '0', '--max-tokens', '8', 'Name a colour.'], { timeoutMs: 180_000 });

      const missing = await ask([]);
      assertFriendly(missing, 'MODEL_INCOMPLETE', 3);
      assert.match(missing.stderr, /--tokenizer <path>/);

      const byFile = await ask(['--tokenizer', join(dirname(cached), 'tokenizer.json')]);
      assert.equal(byFile.code, 0, byFile.stderr);
      const byFolder = await ask(['--tokenizer', dirname(cached)]);
      assert.equal(byFolder.code, 0, byFolder.stderr);
      assert.ok(JSON.parse(byFile.stdout).text.trim().length > 0);
      assert.equal(JSON.parse(byFolder.stdout).text, JSON.parse(byFile.stdout).text, 'the same tokenizer, the same greedy answer');

      // Every format's own tests: test/tokenizer-formats.test.ts.
      const tiktoken = join(dir, 'tokenizer.model');
      await writeFile(tiktoken, 'IQ== 0\nIg== 1\nIw== 2\n');

      const gguf = await runCli(['run', '--model', await defaultModelPath(), '--tokenizer', tiktoken, 'Hi']);
      assertFriendly(gguf, 'INVALID_OPTION', 2);
      assert.match(gguf.stderr, /carries its own tokenizer/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
