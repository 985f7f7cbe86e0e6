import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatTemplateFor } from '../src/core/chat-template.js';
import { pickFallbackTemplate } from '../src/core/fallback-templates.js';
import { ModelRunner } from '../src/core/model-runner.js';
import type { GenerationStats } from '../src/core/types.js';
import { FakeLoadedModel } from './fakes/fake-engine.js';

const vocabulary = (...tokens: string[]) => (text: string) => tokens.includes(text);
const probe = { memory: { peakRssBytes: () => 0 }, clock: { now: () => Date.now() } };

async function answerOf(runner: ModelRunner): Promise<{ text: string; stats: GenerationStats }> {
  for await (const chunk of runner.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 64 })) if (chunk.type === 'done') return chunk;
  throw new Error('no answer');
}

describe('chat templates for models that carry none', () => {
  it('picks the format whose turn tokens the vocabulary has, then the architecture, else plain text', () => {
    assert.equal(pickFallbackTemplate('llama', vocabulary('<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>')).family, 'llama3');
    assert.equal(pickFallbackTemplate('qwen2', vocabulary('<|im_start|>', '<|im_end|>')).family, 'chatml');
    assert.equal(pickFallbackTemplate('gemma2', vocabulary('<start_of_turn>', '<end_of_turn>')).family, 'gemma');
    assert.equal(pickFallbackTemplate('phi3', vocabulary('<|user|>', '<|assistant|>', '<|end|>')).family, 'phi3');
    assert.equal(pickFallbackTemplate('llama', vocabulary('[INST]', '[/INST]')).family, 'mistral');
    assert.equal(pickFallbackTemplate('gemma3', vocabulary()).family, 'gemma', 'the architecture decides when the tokens do not');
    assert.equal(pickFallbackTemplate('llama', vocabulary()).family, 'plain', 'a base model with no turn tokens gets plain text, not markers it never saw');
    assert.equal(pickFallbackTemplate('llama', vocabulary('<|im_start|>')).family, 'plain', 'every marker of a family must be a token');
  });

  it('renders each family with its own markers, and warns once', () => {
    const warnings: string[] = [];
    const info = { path: 'base.gguf', architecture: 'gemma2', trainContextSize: 8192, vocabularySize: 256000, addBosToken: true };
    const template = chatTemplateFor(info, (w) => warnings.push(w), vocabulary('<start_of_turn>', '<end_of_turn>'));
    assert.equal(template.source, 'fallback-gemma');
    assert.equal(
      template.render([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
      '<start_of_turn>user\nBe brief.<end_of_turn>\n<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n',
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /gemma format/);
    assert.deepEqual(chatTemplateFor({ ...info, chatTemplate: '{{ messages[0].content }}' }, () => assert.fail('no warning for a model template')).stopStrings, []);
  });

  it("a model that starts another turn (FAKE engine): the answer ends there, and the turn's control text is never shown", async () => {
    const gemma = new FakeLoadedModel({ specialTokens: ['<start_of_turn>', '<end_of_turn>'], architecture: 'gemma2', answer: 'Sure thing.<end_of_turn>\n<start_of_turn>user\nAnd now?' });
    const gemmaAnswer = await answerOf(new ModelRunner(gemma, 1, probe));
    assert.equal(gemmaAnswer.text, 'Sure thing.');
    assert.equal(gemmaAnswer.stats.stopReason, 'stop-string');

    const base = new FakeLoadedModel({ specialTokens: [], answer: ' Fine, thanks.\nUser: and you?\nAssistant: ok' });
    const runner = new ModelRunner(base, 1, probe);
    assert.equal(runner.template.source, 'fallback-plain');
    assert.equal((await answerOf(runner)).text, ' Fine, thanks.');
  });
});
