// Log probabilities on both engines, through the library and the HTTP API with the
// official openai client. What the model says is never fixed: the checks relate the
// reported numbers to each other and to the answer they came with.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ModelRunner } from '../src/core/model-runner.js';
import type { LogprobEntry } from '../src/core/types.js';
import { exportedPte, startServerProcess, testApp, type ServerProcess } from './helpers.js';

/** Each entry: a log probability, alternatives best first, the greedy pick being the best one. */
function assertCoherent(entries: readonly LogprobEntry[], top: number, greedy: boolean): void {
  for (const entry of entries) {
    assert.ok(entry.logprob <= 1e-6, `${entry.logprob} is a log probability`);
    assert.equal(entry.top.length, top);
    for (let i = 1; i < entry.top.length; i++) assert.ok(entry.top[i - 1]!.logprob >= entry.top[i]!.logprob, 'alternatives best first');
    assert.ok(entry.top.reduce((sum, alt) => sum + Math.exp(alt.logprob), 0) <= 1 + 1e-4, 'alternatives are probabilities');
    if (greedy && top > 0) assert.ok(Math.abs(entry.logprob - entry.top[0]!.logprob) < 1e-3, `greedy picks the likeliest: ${entry.token} ${entry.logprob} vs ${JSON.stringify(entry.top[0])}`);
  }
}

const ENGINES = [
  { engine: 'llama.cpp', model: async () => undefined },
  { engine: 'executorch', model: exportedPte },
];

for (const { engine, model } of ENGINES) {
  describe(`log probabilities on ${engine}`, { timeout: 50 * 60_000 }, () => {
    let modelPath: string | undefined;
    let runner: ModelRunner;
    before(async () => {
      modelPath = await model();
      runner = await testApp().openRunner({ ...(modelPath ? { model: modelPath } : {}), backend: 'cpu', contextSize: 512 });
    });
    after(async () => {
      await runner?.close();
    });

    it('the library reports one entry per answer token, in the text chunks and the done chunk', async () => {
      const fromChunks: LogprobEntry[] = [];
      let done;
      // No repetition penalty: then greedy's pick is the model's likeliest token on both engines.
      for await (const chunk of runner.chat([{ role: 'user', content: 'Name three colors.' }], { sampling: { temperature: 0, repeatPenalty: 1 }, maxTokens: 16, logprobs: 3 })) {
        if (chunk.type === 'text') fromChunks.push(...(chunk.logprobs ?? []));
        else done = chunk;
      }
      assert.equal(done!.logprobs!.length, done!.stats.decodeTokens);
      assert.deepEqual(fromChunks, done!.logprobs);
      assertCoherent(done!.logprobs!, 3, true);
      assert.equal(done!.logprobs!.map((e) => e.token).join(''), done!.text, 'the tokens spell the answer');
    });

    it('serves logprobs and top_logprobs to the openai client, whole and streamed, and the legacy completions form', async () => {
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess(modelPath ? ['--model', modelPath] : []);
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
        // repeat_penalty (onboard's extension) 1: greedy's pick is then the model's likeliest token.
        const request = { model: 'default', messages: [{ role: 'user' as const, content: 'Say something about the sea.' }], temperature: 0, max_tokens: 12, logprobs: true, top_logprobs: 2, repeat_penalty: 1 };
        const whole = await client.chat.completions.create(request);
        const content = whole.choices[0]!.logprobs!.content!;
        assert.equal(content.length, whole.usage!.completion_tokens);
        assertCoherent(content.map((e) => ({ token: e.token, logprob: e.logprob, top: e.top_logprobs })), 2, true);
        for (const entry of content) assert.deepEqual(entry.bytes, [...Buffer.from(entry.token, 'utf8')]);

        const streamed: string[] = [];
        for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) for (const entry of chunk.choices[0]?.logprobs?.content ?? []) streamed.push(entry.token);
        assert.deepEqual(streamed, content.map((e) => e.token), 'the stream carries the same tokens');

        const plain = await client.chat.completions.create({ ...request, logprobs: false, top_logprobs: undefined });
        assert.equal(plain.choices[0]!.logprobs, null, 'not asked, not sent');

        const legacy = await client.completions.create({ model: 'default', prompt: 'The sea is', max_tokens: 8, temperature: 0, logprobs: 2 });
        const lp = legacy.choices[0]!.logprobs!;
        assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
        assert.equal(lp.top_logprobs!.length, lp.tokens!.length);
        assert.equal(lp.tokens!.join(''), legacy.choices[0]!.text);
        lp.text_offset!.forEach((offset, i) => assert.equal(offset, lp.tokens!.slice(0, i).join('').length));

        await assert.rejects(client.chat.completions.create({ ...request, logprobs: false }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'top_logprobs');
        await assert.rejects(client.completions.create({ model: 'default', prompt: 'x', echo: true, logprobs: 1 }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'echo');
      } finally {
        await server?.stop();
      }
    });
  });
}
