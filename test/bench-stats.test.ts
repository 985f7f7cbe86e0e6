// The benchmarks' statistics: the median's confidence interval that bench:speed prints beside its
// paired ratios (pure arithmetic, no model).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, medianInterval } from '../src/bench/measure.js';

describe("the median's 95% interval", () => {
  it('is the order statistics the binomial puts 95% between, whatever the order of the values', () => {
    const values = Array.from({ length: 15 }, (_, i) => 15 - i);
    // 15 values: the 3rd and the 12th smallest (coverage 96.5%).
    assert.deepEqual(medianInterval(values), [3, 12]);
    // 25 values: the 7th and the 18th.
    assert.deepEqual(medianInterval(Array.from({ length: 25 }, (_, i) => i + 1)), [7, 18]);
  });

  it('holds the median and widens to the whole range when there are too few values to say more', () => {
    const few = [1.3, 0.9, 1.1, 1.0, 0.8];
    assert.deepEqual(medianInterval(few), [0.8, 1.3]);
    const many = Array.from({ length: 40 }, (_, i) => Math.sin(i) + 2);
    const [low, high] = medianInterval(many);
    assert.ok(low <= median(many) && median(many) <= high);
    assert.ok(low > Math.min(...many) && high < Math.max(...many));
  });
});
