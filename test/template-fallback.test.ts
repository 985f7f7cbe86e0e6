import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import type { LoadedModel } from '../src/core/engine.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { loadDefaultModel } from './helpers.js';

describe('a real model without its chat template', () => {
  let model: LoadedModel;
  before(async () => {
    model = await loadDefaultModel();
  });
  after(() => model.unload());

  it('gets the format its vocabulary was trained on (SmolLM2: ChatML), its markers as single tokens, and no control text in answers', async () => {
    // The same GGUF as if its metadata had no template (as a base model or a repack).
    const templateless = Object.create(model, { info: { value: { ...model.info, chatTemplate: undefined } } }) as LoadedModel;
    const warnings: string[] = [];
    const runner = new ModelRunner(templateless, 1, { memory: processMemoryProbe, clock: performanceClock, onWarning: (w) => warnings.push(w) });
    assert.equal(runner.template.source, 'fallback-chatml');
    assert.equal(warnings.length, 1);
    const prompt = runner.template.render([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true });
    assert.equal(model.tokenize('<|im_start|>', { special: true }).length, 1, 'a marker the model knows as one token');
    assert.ok(prompt.startsWith('<|im_start|>user\nHi<|im_end|>'));
    for (const content of ['Write two short lines of dialogue between a driver and a passenger.', 'Say hello.']) {
      for await (const chunk of runner.chat([{ role: 'user', content }], { maxTokens: 48, sampling: { temperature: 0 } })) {
        if (chunk.type === 'done') assert.doesNotMatch(chunk.text, /<\|im_(start|end)\|>/);
      }
    }
  });
});
