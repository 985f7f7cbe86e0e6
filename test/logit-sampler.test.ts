// The core's sampler over a logits row (used by the native ExecuTorch engine): pure arithmetic, no model.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogitSampler } from '../src/core/logit-sampler.js';
import { resolveSampling } from '../src/core/sampling.js';

const row = (values: number[]) => Float32Array.from(values);

describe('the logit sampler', () => {
  it('temperature 0 is the argmax, after the repetition penalty', () => {
    const greedy = new LogitSampler(resolveSampling({ temperature: 0, repeatPenalty: 1 }));
    assert.equal(greedy.sample(row([0.1, 3, 2.9, -1]), [1]), 1);
    const penalised = new LogitSampler(resolveSampling({ temperature: 0, repeatPenalty: 1.5 }));
    assert.equal(penalised.sample(row([0.1, 3, 2.9, -1]), [1]), 2, '3 / 1.5 falls below 2.9');
    const frequency = new LogitSampler(resolveSampling({ temperature: 0, repeatPenalty: 1, frequencyPenalty: 0.2 }));
    assert.equal(frequency.sample(row([0, 3, 2.9]), [1, 1]), 2, 'two repeats cost 0.4');
    const outside = new LogitSampler(resolveSampling({ temperature: 0, repeatPenalty: 1.5, repeatLastN: 1 }));
    assert.equal(outside.sample(row([0, 3, 2.9]), [1, 2]), 1, 'only the last token is penalised');
  });

  it('the same seed gives the same draws; top-k 1 is greedy; top-k and min-p keep improbable tokens out', () => {
    const logits = () => row(Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3));
    const draws = (seed: number) => {
      const sampler = new LogitSampler(resolveSampling({ temperature: 1, seed, topP: 1, minP: 0, repeatPenalty: 1 }));
      return Array.from({ length: 20 }, () => sampler.sample(logits(), []));
    };
    assert.deepEqual(draws(7), draws(7));
    assert.notDeepEqual(draws(7), draws(8));

    const best = logits().reduce((b, v, i, a) => (v > a[b]! ? i : b), 0);
    const topOne = new LogitSampler(resolveSampling({ temperature: 1.5, topK: 1, seed: 1 }));
    for (let i = 0; i < 10; i++) assert.equal(topOne.sample(logits(), []), best);

    const sorted = Array.from(logits().keys()).sort((a, b) => logits()[b]! - logits()[a]!);
    const topFive = new LogitSampler(resolveSampling({ temperature: 2, topK: 5, topP: 1, minP: 0, seed: 3 }));
    for (let i = 0; i < 50; i++) assert.ok(sorted.slice(0, 5).includes(topFive.sample(logits(), [])));

    const minP = new LogitSampler(resolveSampling({ temperature: 1, topK: 0, topP: 1, minP: 0.5, seed: 4 }));
    const l = row([5, 4.9, 0, 0, 0]);
    for (let i = 0; i < 50; i++) assert.ok([0, 1].includes(minP.sample(Float32Array.from(l), [])));
  });

  it('top-p keeps the fewest tokens whose probability reaches p', () => {
    // Probabilities about 0.71, 0.26, 0.03: p = 0.7 keeps the first alone.
    const sampler = new LogitSampler(resolveSampling({ temperature: 1, topK: 0, topP: 0.7, minP: 0, seed: 5 }));
    for (let i = 0; i < 30; i++) assert.equal(sampler.sample(row([2, 1, -1]), []), 0);
  });
});
