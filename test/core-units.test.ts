// The core's logic on a FAKE engine (test/fakes/fake-engine.ts), in milliseconds: the queue and
// the sequence pool, KV-cache reuse, the context policy, stop rules and stop reasons. The same
// behaviour is tested on the real model in generation.test.ts and server-api.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatSession } from '../src/core/chat-session.js';
import { answerReserve, fitMessages, MIN_ANSWER_TOKENS } from '../src/core/context-window.js';
import { CancelledError, PromptTooLongError, QueueFullError } from '../src/core/errors.js';
import { ModelRunner } from '../src/core/model-runner.js';
import type { GenerationChunk } from '../src/core/types.js';
import { FakeLoadedModel, type FakeEngineOptions } from './fakes/fake-engine.js';

const memory = { peakRssBytes: () => 0 };
const clock = { now: () => Date.now() };
const runnerOf = (options: FakeEngineOptions = {}, sequences = 1, maxQueue = 16) => new ModelRunner(new FakeLoadedModel(options), sequences, { memory, clock, maxQueue });

async function collect(stream: AsyncGenerator<GenerationChunk>): Promise<Extract<GenerationChunk, { type: 'done' }>> {
  for await (const chunk of stream) if (chunk.type === 'done') return chunk;
  throw new Error('no done chunk');
}

describe('the sequence pool and its queue (fake engine)', () => {
  it('one sequence: a second request waits, a third past the queue is refused, and each gets its turn', async () => {
    const runner = runnerOf({ tokenDelayMs: 2 }, 1, 1);
    const first = collect(runner.chat([{ role: 'user', content: 'one' }]));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(runner.active, 1);
    const second = collect(runner.chat([{ role: 'user', content: 'two' }]));
    await new Promise((r) => setTimeout(r, 1));
    assert.equal(runner.queueDepth, 1);
    await assert.rejects(collect(runner.chat([{ role: 'user', content: 'three' }])), QueueFullError);
    assert.equal((await first).stats.stopReason, 'eos');
    assert.equal((await second).stats.stopReason, 'eos');
    assert.deepEqual([runner.active, runner.queueDepth], [0, 0]);
  });

  it('a waiting request that is aborted leaves the queue and frees nothing it never had', async () => {
    const runner = runnerOf({ tokenDelayMs: 2 }, 1, 4);
    const first = collect(runner.chat([{ role: 'user', content: 'one' }]));
    await new Promise((r) => setTimeout(r, 5));
    const controller = new AbortController();
    const waiting = collect(runner.chat([{ role: 'user', content: 'two' }], { signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await assert.rejects(waiting, CancelledError);
    assert.equal(runner.queueDepth, 0);
    await first;
    assert.deepEqual([runner.active, runner.queueDepth], [0, 0]);
  });

  it('a stream given back early (return) frees its sequence for the next request', async () => {
    const runner = runnerOf({ tokenDelayMs: 1 }, 1, 1);
    const stream = runner.chat([{ role: 'user', content: 'one' }]);
    await stream.next();
    assert.equal(runner.active, 1);
    await stream.return(undefined);
    assert.equal(runner.active, 0);
    assert.equal((await collect(runner.chat([{ role: 'user', content: 'two' }]))).stats.stopReason, 'eos');
  });

  it('a continuing conversation takes the sequence that holds its prefix and prefills only what is new', async () => {
    const runner = runnerOf({}, 2);
    const session = new ChatSession(runner);
    const first = await session.ask('A first question.');
    const second = await session.ask('And a second one.');
    assert.equal(first.stats.reusedTokens, 0);
    assert.ok(second.stats.reusedTokens > first.stats.promptTokens, `reused ${second.stats.reusedTokens} of ${second.stats.promptTokens}`);
    assert.equal(second.stats.prefillTokens, second.stats.promptTokens - second.stats.reusedTokens);
  });
});

describe('stop rules (fake engine)', () => {
  it('max tokens, stop strings split across tokens, and the time limit each end the answer with their reason', async () => {
    const runner = runnerOf({ answer: 'The quick brown fox jumps.', tokenDelayMs: 0 });
    const capped = await collect(runner.chat([{ role: 'user', content: 'q' }], { maxTokens: 5 }));
    assert.deepEqual([capped.text, capped.stats.stopReason, capped.stats.decodeTokens], ['The q', 'max-tokens', 5]);
    const stopped = await collect(runner.chat([{ role: 'user', content: 'q' }], { stop: ['k b'] }));
    assert.deepEqual([stopped.text, stopped.stats.stopReason], ['The quic', 'stop-string']);
    const slow = runnerOf({ answer: 'x'.repeat(200), tokenDelayMs: 5 });
    const timed = await collect(slow.chat([{ role: 'user', content: 'q' }], { timeLimitMs: 30 }));
    assert.equal(timed.stats.stopReason, 'time-limit');
    assert.ok(timed.stats.decodeTokens < 200);
  });
});

describe('the context policy (fake engine)', () => {
  it('the answer reserve is the cap, at most a quarter of the context, at least the minimum', () => {
    assert.equal(answerReserve(100, 4096), 100);
    assert.equal(answerReserve(4090, 4096), 1024);
    assert.equal(answerReserve(4090, 32), MIN_ANSWER_TOKENS);
  });

  it('drops the oldest turns in pairs, keeps the system prompt and the newest message, and refuses what cannot fit', () => {
    const model = new FakeLoadedModel({ contextSize: 400 });
    const runner = new ModelRunner(model, 1, { memory, clock });
    const turn = (i: number) => [
      { role: 'user' as const, content: `question ${i} ${'x'.repeat(40)}` },
      { role: 'assistant' as const, content: `answer ${i} ${'y'.repeat(40)}` },
    ];
    const messages = [{ role: 'system' as const, content: 'Be brief.' }, ...turn(1), ...turn(2), ...turn(3), { role: 'user' as const, content: 'last' }];
    const fitted = fitMessages(model, runner.template, messages, 64);
    assert.ok(fitted.droppedMessages > 0 && fitted.droppedMessages % 2 === 0);
    const text = model.detokenize(fitted.tokens);
    assert.ok(text.includes('Be brief.') && text.includes('last') && !text.includes('question 1'));
    assert.ok(fitted.tokens.length + 64 <= 400);
    // A large cap does not push out a conversation that fits.
    const short = [{ role: 'user' as const, content: 'hi' }, { role: 'assistant' as const, content: 'hello' }, { role: 'user' as const, content: 'name?' }];
    assert.equal(fitMessages(model, runner.template, short, 390).droppedMessages, 0);
    assert.throws(() => fitMessages(model, runner.template, [{ role: 'user', content: 'z'.repeat(500) }], 64), PromptTooLongError);
  });
});
