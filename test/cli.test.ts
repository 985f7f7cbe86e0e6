// The CLI as a user runs it: a real process, the real model, stdout and stderr.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { cliPath, defaultModelPath, runCli } from './helpers.js';

describe('onboard run', () => {
  it('--json prints one object with the text and every stat', async () => {
    const result = await runCli(['run', '--json', '--backend', 'cpu', '--temperature', '0', '--max-tokens', '24', 'What is the capital of France?']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const { text, stats } = JSON.parse(lines[0]!);
    assert.ok(text.trim().length > 0, 'an answer was printed');
    assert.ok(stats.decodeTokens > 0 && stats.decodeTokens <= 24);
    for (const key of ['modelLoadMs', 'timeToFirstTokenMs', 'prefillTokens', 'prefillTokensPerSecond', 'decodeTokens', 'decodeTokensPerSecond', 'peakRssBytes']) {
      assert.equal(typeof stats[key], 'number', key);
      assert.ok(stats[key] >= 0, key);
    }
    assert.equal(stats.engine, 'llama.cpp');
    assert.equal(stats.backend, 'cpu');
    assert.ok(stats.peakRssBytes > 50 * 2 ** 20);
  });

  it('streams to stdout as the answer is generated', async () => {
    const child = spawn(process.execPath, [cliPath, 'run', '--backend', 'cpu', '--temperature', '0', '--max-tokens', '80', 'Write a short story about a robot.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: number[] = [];
    child.stdout.on('data', () => chunks.push(performance.now()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    assert.ok(chunks.length >= 5, `stdout arrived in ${chunks.length} writes`);
    assert.ok(chunks.at(-1)! - chunks[0]! > 100, 'the writes are spread over the generation');
  });

  it('auto reports the backend it used and why', async () => {
    const result = await runCli(['run', '--json', '--max-tokens', '2', 'Hi']);
    assert.equal(result.code, 0, result.stderr);
    const { stats } = JSON.parse(result.stdout);
    assert.match(stats.backendReason, /^auto: /);
    assert.ok(['cpu', 'vulkan', 'cuda'].includes(stats.backend));
  });
});

describe('onboard chat', () => {
  it('streams answers, Ctrl-C stops an answer and keeps the session, commands work', async () => {
    const child = spawn(process.execPath, [cliPath, 'chat', '--backend', 'cpu', '--temperature', '0', '--max-tokens', '300'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const waitFor = async (test: () => boolean, what: string, ms = 60_000) => {
      const until = Date.now() + ms;
      while (!test()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}; stdout: ${stdout}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    child.stdin.write('Count from one to two hundred in words.\n');
    await waitFor(() => stdout.split('> ').at(-1)!.length > 20, 'the answer to start');
    child.kill('SIGINT');
    await waitFor(() => stdout.includes('[stopped]'), 'the answer to stop');
    const statsLines = () => stderr.split('\n').filter((l) => l.includes('tok/s'));
    await waitFor(() => statsLines().length === 1, 'the stats line');
    assert.match(statsLines()[0]!, /stop: abort/);

    const before = stdout.length;
    child.stdin.write('What is the capital of France?\n');
    await waitFor(() => statsLines().length === 2, 'the second answer');
    assert.match(stdout.slice(before), /\S/, 'the second turn printed an answer');
    assert.match(statsLines()[1]!, /\(\d+ reused\)/);
    assert.doesNotMatch(statsLines()[1]!, /\(0 reused\)/, 'the second turn reuses the KV cache');

    child.stdin.write('/stats\n');
    await waitFor(() => stdout.includes('time to first token'), '/stats');
    child.stdin.write('/system Answer in one word.\n/reset\n/exit\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /system prompt set/);
    assert.match(stdout, /conversation cleared/);
  });
});

describe('onboard models and doctor', () => {
  it('models list and info describe the cached default model', async () => {
    await defaultModelPath();
    const list = await runCli(['models', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const parsed = JSON.parse(list.stdout);
    const model = parsed.installed.find((m: { manifest: { id: string } }) => m.manifest.id === 'smollm2-135m-instruct-q4_1');
    assert.ok(model, 'the default model is installed');
    assert.equal(model.manifest.quantization, 'Q4_1');
    assert.equal(model.manifest.vocabularySize, 49152);
    const info = await runCli(['models', 'info', '--json']);
    assert.equal(info.code, 0, info.stderr);
    const summary = JSON.parse(info.stdout);
    assert.equal(summary.architecture, 'llama');
    assert.equal(summary.contextLength, 8192);
    assert.equal(summary.tensorCount, 272);
    assert.equal(summary.chatTemplate, true);
    assert.equal(summary.specialTokens.eos.text, '<|im_end|>');
  });

  it('doctor reports the machine, the backends, the cache and Python', async () => {
    const result = await runCli(['doctor', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.node, process.version);
    assert.ok(report.cpu.logicalCores >= 1);
    assert.ok(report.memory.totalBytes > 0);
    assert.deepEqual(report.backends.map((b: { backend: string }) => b.backend).sort(), ['cpu', 'cuda', 'vulkan']);
    assert.ok(['cpu', 'vulkan', 'cuda'].includes(report.auto.picks));
    assert.ok(report.cache.models.every((m: { checksum: string }) => m.checksum === 'ok'));
    assert.ok(report.python.version || report.python.problem);
  });

  it('every command has help that stands on its own', async () => {
    for (const command of [[], ['run'], ['chat'], ['models'], ['models', 'pull'], ['models', 'list'], ['models', 'info'], ['models', 'rm'], ['doctor']]) {
      const result = await runCli([...command, '--help']);
      assert.equal(result.code, 0, `${command.join(' ')}: ${result.stderr}`);
      assert.match(result.stdout, /Usage: onboard/);
    }
    const run = await runCli(['run', '--help']);
    for (const flag of ['--temperature', '--top-k', '--top-p', '--min-p', '--repeat-penalty', '--seed', '--stop', '--system', '--model', '--backend', '--ctx', '--json']) {
      assert.ok(run.stdout.includes(flag), flag);
    }
  });
});
