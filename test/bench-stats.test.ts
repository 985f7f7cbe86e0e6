// The benchmarks' statistics: the median's confidence interval that bench:speed prints beside its
// paired ratios (pure arithmetic, no model).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, medianInterval, roundOrder } from '../src/bench/measure.js';

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

describe("a benchmark round's order", () => {
  it('deals every path once, the same way for the same round, and gives paths different predecessors across rounds', () => {
    const paths = ['raw', 'library', 'run', 'serve', 'et-runner', 'et-engine'];
    const rounds = Array.from({ length: 12 }, (_, round) => roundOrder(paths, round));
    for (const order of rounds) assert.deepEqual([...order].sort(), [...paths].sort());
    assert.deepEqual(roundOrder(paths, 3), rounds[3]);
    // What ran just before `library` across the rounds: a rotation would always give the same one.
    const before = new Set(rounds.map((order) => order[order.indexOf('library') - 1] ?? 'nothing'));
    assert.ok(before.size >= 3, `library's predecessors: ${[...before].join(', ')}`);
  });
});
