import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ModelRunner } from '../src/core/model-runner.js';
import { fixedPrefillRate, measuredPrefillRate } from '../src/core/ttft-budget.js';
import type { LoadedModel } from '../src/core/engine.js';
import type { ChatMessage, GenerationStats } from '../src/core/types.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { defaultModelPath, startServerProcess, testApp } from './helpers.js';

/** A 20-turn conversation of about 30 tokens a turn, and a new question. */
function longConversation(): ChatMessage[] {
  const messages: ChatMessage[] = [{ role: 'system', content: 'You are a brief assistant in a car.' }];
  for (let turn = 0; turn < 20; turn++) {
    messages.push({ role: 'user', content: `Turn ${turn}: remind me that the parking spot number is ${100 + turn} and the level is ${turn % 4}.` });
    messages.push({ role: 'assistant', content: `Noted: spot ${100 + turn}, level ${turn % 4}. Anything else for this trip?` });
  }
  messages.push({ role: 'user', content: 'What was the last spot?' });
  return messages;
}

async function statsOf(runner: ModelRunner, messages: ChatMessage[]): Promise<GenerationStats> {
  for await (const chunk of runner.chat(messages, { maxTokens: 4, sampling: { temperature: 0 } })) if (chunk.type === 'done') return chunk.stats;
  throw new Error('no done chunk');
}

describe('response-time budget and warm start, with the real model', () => {
  let model: LoadedModel;
  before(async () => {
    // One sequence for each runner below: a runner takes its sequences from the model.
    model = await testApp().engines.get('llamacpp')!.engine.load({ modelPath: await defaultModelPath(), contextSize: 4096, sequences: 6, target: 'cpu' });
  });
  after(() => model.unload());

  const runnerWith = (options: { ttftBudgetMs?: number; tokensPerSecond?: number }) =>
    new ModelRunner(model, 1, {
      memory: processMemoryProbe,
      clock: performanceClock,
      ...(options.ttftBudgetMs !== undefined ? { ttftBudgetMs: options.ttftBudgetMs } : {}),
      ...(options.tokensPerSecond !== undefined ? { prefillRate: fixedPrefillRate(options.tokensPerSecond) } : {}),
    });

  test('at a given prefill rate, the oldest turns are dropped until the predicted time to first token fits', async () => {
    const runner = runnerWith({ ttftBudgetMs: 250, tokensPerSecond: 1000 });
    await runner.clearCaches();
    const stats = await statsOf(runner, longConversation());
    assert.ok(stats.droppedMessages > 0 && stats.droppedMessages % 2 === 0, `dropped ${stats.droppedMessages}`);
    assert.ok(stats.ttftBudget, 'the stats carry the decision');
    assert.equal(stats.ttftBudget.budgetMs, 250);
    assert.equal(stats.ttftBudget.tokensPerSecond, 1000);
    assert.ok(stats.ttftBudget.predictedMs <= 250, `predicted ${stats.ttftBudget.predictedMs} ms`);
    // The prediction is the uncached tokens at the given rate.
    assert.equal(stats.ttftBudget.predictedMs, Math.round(stats.prefillTokens));
    // One turn more would have broken the budget: the policy keeps as much history as fits.
    assert.ok(stats.promptTokens + 60 > 250, 'not more dropped than needed');
  });

  test('a continued conversation keeps the history its sequence holds: cached tokens cost nothing', async () => {
    const runner = runnerWith({ ttftBudgetMs: 250, tokensPerSecond: 1000 });
    await runner.clearCaches();
    const messages = longConversation();
    const first = await statsOf(runner, messages);
    const next = await statsOf(runner, [...messages, { role: 'assistant', content: 'Spot 119.' }, { role: 'user', content: 'And the level?' }]);
    assert.equal(next.droppedMessages, first.droppedMessages, 'the same window, now continued from the cache');
    assert.ok(next.reusedTokens > 0 && next.ttftBudget!.predictedMs <= 250);
  });

  test('a generous budget or an unknown rate drops nothing', async () => {
    assert.equal((await statsOf(runnerWith({ ttftBudgetMs: 60_000, tokensPerSecond: 1000 }), longConversation())).droppedMessages, 0);
    const unmeasured = runnerWith({ ttftBudgetMs: 1 });
    const stats = await statsOf(unmeasured, longConversation());
    assert.equal(stats.droppedMessages, 0, 'no measurement yet: no prediction, nothing dropped');
    assert.equal(stats.ttftBudget, undefined);
  });

  test('the measured rate is a moving average of prefills of 16 tokens or more', () => {
    const rate = measuredPrefillRate();
    rate.record(8, 1);
    assert.equal(rate.tokensPerSecond(), undefined);
    rate.record(100, 100);
    assert.equal(rate.tokensPerSecond(), 1000);
    rate.record(100, 50);
    assert.equal(Math.round(rate.tokensPerSecond()!), 1300);
  });

  test('warm start prefills the template opening, and the first request reuses it', async () => {
    const runner = runnerWith({});
    await runner.clearCaches();
    const warmed = await runner.warmUp();
    assert.ok(warmed > 0);
    const stats = await statsOf(runner, [{ role: 'user', content: 'Hello there.' }]);
    assert.ok(stats.reusedTokens >= warmed, `the first request finds the opening cached (${stats.reusedTokens} of ${warmed})`);
  });
});

describe('warm start in the server', () => {
  test("the server's first request reuses the warmed opening; --no-warm-start does not", async () => {
    for (const [flags, warm] of [[[], true], [['--no-warm-start'], false]] as const) {
      const server = await startServerProcess([...flags]);
      try {
        const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello there.' }], max_tokens: 2 }) });
        const body = (await response.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } } };
        assert.equal(body.usage.prompt_tokens_details.cached_tokens > 0, warm, JSON.stringify(body.usage));
      } finally {
        await server.stop();
      }
    }
  });
});
