import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { cgroupMemoryLimit } from '../src/adapters/system/cgroup-memory.js';
import { watchTreeMemory } from '../src/bench/tree-memory.js';
import { NotEnoughMemoryError } from '../src/core/errors.js';
import { estimateMemory, fitToBudget, type MemoryShape } from '../src/core/memory-estimate.js';
import { assertFriendly, cliPath, exportedPte, repoRoot, runCli, startServerProcess } from './helpers.js';

const MiB = 2 ** 20;
const fixture = (name: string) => `${repoRoot}/test/fixtures/cgroup/${name}`;

describe('memory budget: the decision', () => {
  const llama: MemoryShape = { weightsBytes: 100 * MiB, fixedOverheadBytes: 150 * MiB, perSequenceBytes: 0, perTokenBytes: 24_000 };
  const pte: MemoryShape = { weightsBytes: 100 * MiB, fixedOverheadBytes: 64 * MiB, perSequenceBytes: 110 * MiB, perTokenBytes: 0, fixedContext: 512 };

  test('a load that fits is left as asked', () => {
    const fit = fitToBudget(llama, { contextSize: 4096, sequences: 1 }, 1024 * MiB, 100 * MiB, 256);
    assert.deepEqual([fit.contextSize, fit.sequences, fit.changes], [4096, 1, []]);
  });

  test('the context shrinks first, in steps of 256, to the largest that fits', () => {
    const budget = 500 * MiB;
    const fit = fitToBudget(llama, { contextSize: 32768, sequences: 2 }, budget, 100 * MiB, 256);
    assert.equal(fit.sequences, 2);
    assert.equal(fit.contextSize % 256, 0);
    assert.ok(fit.estimate.totalBytes <= budget);
    assert.ok(estimateMemory(llama, fit.contextSize + 256, 2, 100 * MiB).totalBytes > budget, 'one step more would not fit');
    assert.match(fit.changes[0]!, /context shrunk from 32768 to \d+ tokens/);
  });

  test('then the sequences; a program that fixes its context only loses sequences', () => {
    const fit = fitToBudget(pte, { contextSize: 4096, sequences: 4 }, 500 * MiB, 100 * MiB, 256);
    assert.deepEqual([fit.contextSize, fit.sequences], [512, 2]);
    assert.match(fit.changes.join(' '), /parallel sequences cut from 4 to 2/);
    // 12 MiB left after weights and overhead: two sequences of the smallest context (6 MiB each).
    const squeezed = fitToBudget(llama, { contextSize: 8192, sequences: 8 }, 362 * MiB, 100 * MiB, 256);
    assert.deepEqual([squeezed.contextSize, squeezed.sequences], [256, 2]);
    assert.match(squeezed.changes.join(' '), /context shrunk from 8192 to 256.*parallel sequences cut from 8 to 2/);
  });

  test('when even one sequence of the smallest context does not fit: NOT_ENOUGH_MEMORY with the numbers', () => {
    assert.throws(
      () => fitToBudget(pte, { contextSize: 512, sequences: 1 }, 200 * MiB, 100 * MiB, 256),
      (error: unknown) => error instanceof NotEnoughMemoryError && /memory budget is 200 MiB/.test(error.message) && error.details.weightsBytes === 100 * MiB,
    );
  });

  test("the cgroup's limit: v2 memory.max at the process's path, v1 memory.limit_in_bytes, none when unlimited", () => {
    assert.equal(cgroupMemoryLimit(fixture('v2'), readFileSync(fixture('self-v2'), 'utf8')), 471_859_200);
    assert.equal(cgroupMemoryLimit(fixture('v1'), readFileSync(fixture('self-v1'), 'utf8')), 1_073_741_824);
    assert.equal(cgroupMemoryLimit(fixture('none'), '4:memory:/\n'), undefined);
  });
});

/** Runs the CLI and returns its result and the peak resident memory of its process tree. */
function runMeasured(args: string[]): Promise<{ code: number | null; stderr: string; peakBytes: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const watch = watchTreeMemory(child.pid!);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr, peakBytes: watch.stop() }));
  });
}

describe('memory budget with the real model and engines', () => {
  test('llama.cpp: a context too large for the budget shrinks, and the process stays under the budget', async () => {
    const budget = 450 * MiB;
    const result = await runMeasured(['run', 'Hello', '-n', '16', '--ctx', '32768', '--memory-budget', '450M', '--backend', 'cpu']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /warning: context shrunk from 32768 to \d+ tokens/);
    assert.ok(result.peakBytes < budget, `peak ${Math.round(result.peakBytes / MiB)} MiB under ${budget / MiB} MiB`);
  });

  test('ExecuTorch: four sequences become what fits, /health says so, and the process tree stays under the budget', async () => {
    await exportedPte();
    // The 8da8w program: about 500 MiB for one sequence, 160 more for each further one (packed weights and its KV cache).
    const budget = 750 * MiB;
    const server = await startServerProcess(['-m', 'smollm2-135m-xnnpack-8da8w', '--parallel', '4', '--memory-budget', '750M'], {}, false);
    const watch = watchTreeMemory(server.child.pid!);
    try {
      let health: { status: string; memory?: { sequences: number; budgetBytes: number; estimateBytes: number; changes: string[] } } = { status: 'loading' };
      for (const until = Date.now() + 120_000; health.status === 'loading' && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        health = (await (await fetch(`${server.url}/health`)).json()) as typeof health;
      }
      assert.equal(health.status, 'ready');
      assert.ok(health.memory && health.memory.sequences >= 1 && health.memory.sequences < 4, JSON.stringify(health.memory));
      assert.equal(health.memory.budgetBytes, budget);
      assert.ok(health.memory.estimateBytes <= budget);
      assert.match(health.memory.changes.join(' '), /parallel sequences cut from 4 to/);
      const answers = await Promise.all(
        [1, 2].map(() => fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8 }) }).then((r) => r.status)),
      );
      assert.deepEqual(answers, [200, 200]);
      const peak = watch.stop();
      assert.ok(peak < budget, `peak ${Math.round(peak / MiB)} MiB under ${budget / MiB} MiB`);
    } finally {
      watch.stop();
      await server.stop();
    }
  });

  test('a budget even the smallest load exceeds is refused before loading, with the numbers', async () => {
    const result = await runCli(['run', 'Hello', '--memory-budget', '150M']);
    assertFriendly(result, 'NOT_ENOUGH_MEMORY', 6);
    assert.match(result.stderr, /the memory budget is 150 MiB/);
    assertFriendly(await runCli(['run', 'Hello', '--memory-budget', 'lots']), 'INVALID_OPTION', 2);
  });
});
