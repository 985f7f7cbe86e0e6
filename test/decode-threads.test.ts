// Decode threads: the tuner's choice from step times, and one-token steps taking their own thread
// count in the real llama.cpp engine while prompt batches keep the context's.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { controlDecodeThreads } from '../src/adapters/llamacpp/decode-threads.js';
import { LlamaCppEngine } from '../src/adapters/llamacpp/engine.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { fileDecodeThreadMemory } from '../src/adapters/system/decode-thread-memory.js';
import { availableMemoryBytes } from '../src/adapters/system/process-memory.js';
import { configFromEnv } from '../src/app/composition.js';
import { ChatSession } from '../src/core/chat-session.js';
import { DecodeThreadTuner, decodeThreadCandidates } from '../src/core/decode-threads.js';
import { ModelRunner } from '../src/core/model-runner.js';
import type { LoadedModel } from '../src/core/engine.js';
import { defaultModelPath, exportedPte, testApp } from './helpers.js';

/** A greedy answer of up to `maxTokens` tokens from a freshly loaded model, which is then unloaded. */
async function answerWith(loading: Promise<LoadedModel>, maxTokens = 64) {
  const runner = new ModelRunner(await loading, 1, { memory: testApp().memory, clock: performanceClock, onWarning: () => {} });
  try {
    return await new ChatSession(runner).ask('Name three rivers.', { sampling: { temperature: 0 }, maxTokens });
  } finally {
    await runner.close();
  }
}

/** Runs the tuner's trial with step times from `stepMs(threads, step)`; returns the threads each step got. */
function trial(tuner: DecodeThreadTuner, steps: number, stepMs: (threads: number, step: number) => number): number[] {
  const used: number[] = [];
  for (let step = 0; step < steps; step++) {
    const threads = tuner.next();
    used.push(threads);
    tuner.record(threads, stepMs(threads, step));
  }
  return used;
}

describe('the decode thread tuner', () => {
  it('tries 1, 2, 4... up to the cores, the cores included', () => {
    assert.deepEqual(decodeThreadCandidates(1), [1]);
    assert.deepEqual(decodeThreadCandidates(2), [1, 2]);
    assert.deepEqual(decodeThreadCandidates(6), [1, 2, 4, 6]);
    assert.deepEqual(decodeThreadCandidates(8), [1, 2, 4, 8]);
  });

  it('alternates blocks of candidates, then keeps the one with the lowest mean step', () => {
    const tuner = new DecodeThreadTuner([1, 2], { blockSteps: 2, blocks: 2, retuneAfter: 100 });
    const used = trial(tuner, 8, (threads) => (threads === 1 ? 10 : 7));
    assert.deepEqual(used, [1, 1, 2, 2, 1, 1, 2, 2]);
    assert.equal(tuner.chosen, 2);
    assert.deepEqual(trial(tuner, 5, () => 1), [2, 2, 2, 2, 2]);
  });

  it('judges by the mean: a second thread that is mostly fast but sometimes very slow loses', () => {
    const tuner = new DecodeThreadTuner([1, 2], { blockSteps: 4, blocks: 2 });
    // Two threads: 6.5 ms three steps in four, 35 ms the fourth (mean 13.6, median 6.5); one thread: 10.4 ms.
    trial(tuner, 16, (threads, step) => (threads === 1 ? 10.4 : step % 4 === 3 ? 35 : 6.5));
    assert.equal(tuner.chosen, 1);
  });

  it('takes fewer threads only when they win clearly (by the margin, a tenth by default)', () => {
    const close = new DecodeThreadTuner([1, 2], { blockSteps: 2, blocks: 2 });
    trial(close, 8, (threads) => (threads === 1 ? 9.5 : 10));
    assert.equal(close.chosen, 2, 'one thread 5% faster: within the noise of a short trial');
    const clear = new DecodeThreadTuner([1, 2], { blockSteps: 2, blocks: 2 });
    trial(clear, 8, (threads) => (threads === 1 ? 8.5 : 10));
    assert.equal(clear.chosen, 1, 'one thread 15% faster');
    const three = new DecodeThreadTuner([1, 2, 4], { blockSteps: 1, blocks: 1, margin: 0.2 });
    trial(three, 3, (threads) => ({ 1: 7, 2: 8.5, 4: 10 })[threads]!);
    assert.equal(three.chosen, 1, 'the fastest of those that clear the margin');
  });

  it('has nothing to try with one candidate', () => {
    const tuner = new DecodeThreadTuner([3]);
    assert.equal(tuner.chosen, 3);
    assert.deepEqual(trial(tuner, 3, () => 1), [3, 3, 3]);
  });

  it('starts from a remembered decision without a trial, tells each new decision, and still measures again later', () => {
    const decisions: number[] = [];
    const tuner = new DecodeThreadTuner([1, 2], { blockSteps: 1, blocks: 1, retuneAfter: 3, initial: 1, onDecide: (threads) => decisions.push(threads) });
    assert.equal(tuner.chosen, 1);
    assert.deepEqual(trial(tuner, 3, () => 5), [1, 1, 1]);
    assert.deepEqual(trial(tuner, 2, (threads) => (threads === 1 ? 9 : 5)), [1, 2]);
    assert.deepEqual(decisions, [2]);
    // A remembered count that is no longer a candidate (--threads changed) is not used.
    assert.equal(new DecodeThreadTuner([1, 2], { initial: 4 }).chosen, undefined);
  });

  it('measures again after `retuneAfter` steps, and follows a machine that changed', () => {
    const tuner = new DecodeThreadTuner([1, 2], { blockSteps: 1, blocks: 1, retuneAfter: 3 });
    trial(tuner, 2, (threads) => (threads === 1 ? 5 : 9));
    assert.equal(tuner.chosen, 1);
    assert.deepEqual(trial(tuner, 3, () => 5), [1, 1, 1]);
    // The machine changed (another process took a core back, say): two threads are faster now.
    assert.deepEqual(trial(tuner, 2, (threads) => (threads === 1 ? 9 : 5)), [1, 2]);
    assert.equal(tuner.chosen, 2);
  });
});

describe('decode thread decisions kept in a file', () => {
  it('live where ONBOARD_DECODE_THREADS_FILE says (the suite keeps its own), else beside the model cache', () => {
    assert.equal(configFromEnv({}, { ONBOARD_DECODE_THREADS_FILE: '/tmp/suite-threads.json', ONBOARD_CACHE_DIR: '/tmp/c' }).decodeThreadsFile, '/tmp/suite-threads.json');
    assert.equal(configFromEnv({}, { ONBOARD_CACHE_DIR: '/tmp/c' }).decodeThreadsFile, undefined);
    assert.match(process.env.ONBOARD_DECODE_THREADS_FILE ?? '', /onboard-test-decode-threads-\d+\.json$/, 'scripts/run-tests.mjs keeps the suite\'s trials out of the user cache');
  });

  it('recalls what was remembered until it is a day old; a missing or damaged file is no decisions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'onboard-threads-'));
    try {
      let clock = 1_000_000;
      const path = join(dir, 'cache', 'decode-threads.json');
      const memory = fileDecodeThreadMemory(path, { now: () => clock });
      assert.equal(memory.recall('a'), undefined);
      memory.remember('a', 1);
      memory.remember('b', 4);
      assert.equal(memory.recall('a'), 1);
      assert.equal(fileDecodeThreadMemory(path, { now: () => clock }).recall('b'), 4, 'another process reads the same file');
      clock += 24 * 3600_000;
      assert.equal(memory.recall('a'), undefined, 'a day later it is measured again');
      await writeFile(path, '{"a": {"threads": 1, "at"');
      assert.equal(memory.recall('a'), undefined);
      memory.remember('a', 2);
      assert.equal(memory.recall('a'), 2, 'a damaged file is replaced whole');
      await writeFile(path, JSON.stringify({ a: { threads: 0, at: clock }, b: { threads: 'two', at: clock } }));
      assert.equal(memory.recall('a'), undefined);
      assert.equal(memory.recall('b'), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('one-token steps on their own thread count (real llama.cpp)', () => {
  it('a prompt batch runs on the context threads, each answer token on the tuner count', async () => {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: await defaultModelPath(), gpuLayers: 0 });
    const context = await model.createContext({ contextSize: 512, threads: 2 });
    try {
      const tuner = new DecodeThreadTuner([1, 2], { blockSteps: 2, blocks: 1 });
      assert.ok(controlDecodeThreads(context, tuner), 'this node-llama-cpp context can be wrapped');
      const seen: number[] = [];
      let tokens = 0;
      for await (const _token of context.getSequence().evaluate(model.tokenize('Count from one to twenty:') as Token[], { temperature: 0 })) {
        // Read after each step: the first token comes out of the prompt's batch. An end-of-text
        // token does not end the loop, so the count of steps never depends on what the model says.
        seen.push(context.currentThreads);
        if (++tokens >= 12) break;
      }
      assert.equal(seen[0], 2, 'the prompt batch ran on both threads');
      // Steps 1-2 on one thread, 3-4 on two, then the choice.
      assert.deepEqual(seen.slice(1, 5), [1, 1, 2, 2]);
      assert.ok(tuner.chosen === 1 || tuner.chosen === 2);
      assert.ok(seen.slice(5).every((threads) => threads === tuner.chosen));
    } finally {
      await context.dispose();
      await model.dispose();
    }
  });

  it('a load remembers the measured count, and the next load of the same model starts from it', async () => {
    const remembered = new Map<string, number>();
    const memory = { recall: (key: string) => remembered.get(key), remember: (key: string, threads: number) => void remembered.set(key, threads) };
    const engine = new LlamaCppEngine({ availableMemoryBytes, decodeThreadMemory: memory });
    const modelPath = await defaultModelPath();
    // The trial spans answers: ask until it is over (32 one-token steps).
    const runner = new ModelRunner(await engine.load({ modelPath, contextSize: 512, threads: 2, target: 'cpu' }), 1, { memory: testApp().memory, clock: performanceClock, onWarning: () => {} });
    let last;
    try {
      for (const question of ['Name three rivers.', 'Describe the sea.', 'Write a poem about rain.', 'List five colours.', 'Tell a short story.', 'Explain the wind.']) {
        last = await new ChatSession(runner).ask(question, { sampling: { temperature: 0 }, maxTokens: 64 });
        if (remembered.size > 0) break;
      }
    } finally {
      await runner.close();
    }
    assert.equal(remembered.size, 1, 'the trial ended and its decision was remembered');
    const [key, threads] = [...remembered][0]!;
    assert.ok(key.includes(modelPath) && (threads === 1 || threads === 2));
    assert.deepEqual(last!.stats.threads, { batch: 2, decode: threads });
    // The next load is decided before its first step: even a one-token answer reports the count.
    remembered.set(key, threads === 1 ? 2 : 1);
    const next = await answerWith(engine.load({ modelPath, contextSize: 512, threads: 2, target: 'cpu' }), 1);
    assert.deepEqual(next.stats.threads, { batch: 2, decode: threads === 1 ? 2 : 1 });
  });

  it('the engine reports its threads in the stats, and the answer does not depend on them', async () => {
    const engine = new LlamaCppEngine({ availableMemoryBytes });
    const modelPath = await defaultModelPath();
    const answer = (decodeThreads: number | undefined) => answerWith(engine.load({ modelPath, contextSize: 512, threads: 2, target: 'cpu', ...(decodeThreads ? { decodeThreads } : {}) }));
    const one = await answer(1);
    const two = await answer(2);
    const measured = await answer(undefined);
    assert.deepEqual(one.stats.threads, { batch: 2, decode: 1 });
    assert.deepEqual(two.stats.threads, { batch: 2, decode: 2 });
    assert.equal(measured.stats.threads?.batch, 2);
    // 64 tokens cover the trial (2 candidates, 2 blocks of 8 each): the choice is made.
    if (measured.stats.decodeTokens >= 33) assert.ok(measured.stats.threads?.decode === 1 || measured.stats.threads?.decode === 2);
    assert.ok(one.text.length > 0);
    assert.equal(one.text, two.text, 'greedy text is the same on one decode thread as on two');
    assert.equal(measured.text, two.text);
  });
});

describe('one-token steps on their own thread count (the native ExecuTorch runtime)', { timeout: 45 * 60_000 }, () => {
  it('the host sets the pool for each forward and reports it; the answer does not depend on it', async () => {
    const modelPath = await exportedPte();
    await setupNativeRuntime({ log: () => {} }); // a no-op when installed
    const engine = new ExecuTorchEngine({ runtime: 'native' });
    const answer = (decodeThreads: number | undefined) => answerWith(engine.load({ modelPath, contextSize: 512, target: 'auto', ...(decodeThreads ? { decodeThreads } : {}) }));
    const one = await answer(1);
    const standard = await answer(undefined);
    const batch = standard.stats.threads!.batch; // the runtime's pool: the machine's cores
    assert.ok(batch >= 1);
    assert.deepEqual(standard.stats.threads, { batch, decode: batch }, 'by default a step takes the whole pool, as the ExecuTorch runner does');
    assert.deepEqual(one.stats.threads, { batch, decode: 1 });
    assert.ok(one.text.length > 0);
    assert.equal(one.text, standard.text, 'greedy text is the same on one decode thread as on the pool');
  });
});
