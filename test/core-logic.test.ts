// The core's pure parts, on literal inputs. Everything that needs a model runs on the real one in the other files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBackends } from '../src/core/backend-policy.js';
import { assertFitsInMemory, estimateMemory } from '../src/core/memory-estimate.js';
import { NotEnoughMemoryError } from '../src/core/errors.js';
import { resolveSampling } from '../src/core/sampling.js';
import { StopStringMatcher } from '../src/core/stop-strings.js';

function feed(matcher: StopStringMatcher, pieces: string[]): { text: string; stopped: boolean } {
  let text = '';
  for (const piece of pieces) {
    const out = matcher.push(piece);
    text += out.text;
    if (out.stopped) return { text, stopped: true };
  }
  return { text: text + matcher.flush(), stopped: false };
}

describe('stop strings', () => {
  it('cuts at a stop string split across pieces and never leaks it', () => {
    const emitted: string[] = [];
    const matcher = new StopStringMatcher(['END']);
    for (const piece of ['Hello E', 'N', 'D world']) {
      const out = matcher.push(piece);
      emitted.push(out.text);
      if (out.stopped) break;
    }
    assert.equal(emitted.join(''), 'Hello ');
    assert.ok(!emitted.some((piece) => piece.includes('E')), 'a possible stop prefix is held back, not emitted');
  });

  it('releases held text that turned out not to be a stop string', () => {
    assert.deepEqual(feed(new StopStringMatcher(['END']), ['Hello E', 'ND', '!']), { text: 'Hello ', stopped: true });
    assert.deepEqual(feed(new StopStringMatcher(['END']), ['Hello E', 'x', 'N']), { text: 'Hello ExN', stopped: false });
  });

  it('stops at the earliest of several stop strings', () => {
    assert.deepEqual(feed(new StopStringMatcher(['world', 'lo']), ['Hello world']), { text: 'Hel', stopped: true });
  });
});

describe('backend policy', () => {
  const caps = [
    { backend: 'cpu' as const, available: true, devices: [], softwareOnly: false },
    { backend: 'cuda' as const, available: false, devices: [], softwareOnly: false, detail: 'no driver' },
    { backend: 'vulkan' as const, available: true, devices: ['llvmpipe (LLVM 15)'], softwareOnly: true },
  ];

  it('auto skips missing and software-only GPUs and ends with the CPU', () => {
    const plan = planBackends('auto', caps);
    assert.deepEqual(plan.candidates, ['cpu']);
    assert.deepEqual(
      plan.skipped.map((s) => s.backend),
      ['cuda', 'vulkan'],
    );
    assert.match(plan.skipped[1]!.reason, /software/);
  });

  it('auto prefers a real GPU', () => {
    const plan = planBackends('auto', [...caps.slice(0, 2), { backend: 'vulkan', available: true, devices: ['AMD Radeon'], softwareOnly: false }]);
    assert.deepEqual(plan.candidates, ['vulkan', 'cpu']);
  });

  it('an explicit backend is tried alone', () => {
    assert.deepEqual(planBackends('vulkan', caps).candidates, ['vulkan']);
  });
});

describe('memory estimate', () => {
  it('counts weights, the KV cache for the context, and overhead, and refuses what does not fit', () => {
    const estimate = estimateMemory({ weightsBytes: 100 * 2 ** 20, fixedOverheadBytes: 64 * 2 ** 20, perSequenceBytes: 0, perTokenBytes: 2 * 30 * 192 * 2 }, 8192);
    assert.equal(estimate.kvCacheBytes, 2 * 30 * 8192 * 192 * 2);
    assert.equal(estimate.totalBytes, estimate.weightsBytes + estimate.kvCacheBytes + estimate.overheadBytes);
    assert.throws(() => assertFitsInMemory(estimate, estimate.totalBytes - 1), NotEnoughMemoryError);
    assert.doesNotThrow(() => assertFitsInMemory(estimate, estimate.totalBytes));
  });
});

describe('sampling options', () => {
  it('fills defaults and rejects values out of range', () => {
    assert.equal(resolveSampling({}).temperature, 0.7);
    assert.throws(() => resolveSampling({ topP: 0 }));
    assert.throws(() => resolveSampling({ temperature: -1 }));
  });
});
