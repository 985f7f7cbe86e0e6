// onboard's own llama::custom_sdpa and llama::update_cache kernels (native/executorch/src/llm_kernels.cc)
// against ExecuTorch's kernels in the Python toolchain, on random inputs of the shapes an LLM uses:
// decode and prefill, a cache already part full, grouped-query attention, causal or not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadNativeAddon } from '../src/adapters/executorch/native-addon.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { PYTHON_DIR, pythonEnv, requireToolchain } from '../src/adapters/executorch/toolchain.js';
import { argmax, seededRandom } from '../src/core/logit-sampler.js';

const random = seededRandom(42);
const tensor = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random() * 4 - 2);

function maxDifference(a: Float32Array, b: readonly number[]): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('the native fused LLM kernels', () => {
  it('match ExecuTorch\'s own kernels on random inputs', async () => {
    const runtime = await setupNativeRuntime({ log: () => {} }); // a no-op when installed
    const toolchain = await requireToolchain();
    const kernels = loadNativeAddon(runtime.addonPath).kernelsForTest;

    // [batch, seq, query heads, key heads, head dim, cache length, start position, causal]
    const sdpaShapes: Array<[number, number, number, number, number, number, number, boolean]> = [
      [1, 1, 9, 3, 64, 32, 0, true], // first decode step
      [1, 1, 9, 3, 64, 32, 20, true], // decode into a part-full cache
      [1, 7, 9, 3, 64, 32, 5, true], // prefill after a reused prefix
      [1, 12, 4, 4, 48, 16, 0, true], // multi-head attention, a whole prompt (a head size with no special case)
      [1, 3, 8, 2, 128, 16, 6, true], // head size 128 (its own compiled case, as 64 is)
      [2, 3, 8, 2, 32, 24, 9, false], // two sequences, no causal mask
    ];
    const sdpaCases = sdpaShapes.map(([b, s, hq, hkv, d, max, start, causal]) => {
      const qShape = [b, s, hq, d];
      const kShape = [b, max, hkv, d];
      return { op: 'custom_sdpa', q: tensor(qShape), q_shape: qShape, k: tensor(kShape), k_shape: kShape, v: tensor(kShape), v_shape: kShape, start_pos: start, is_causal: causal };
    });
    const cacheShapes: Array<[number[], number[], number]> = [
      [[1, 1, 3, 64], [1, 32, 3, 64], 0],
      [[1, 5, 3, 64], [1, 32, 3, 64], 27],
      [[2, 4, 2, 16], [2, 8, 2, 16], 2],
    ];
    const cacheCases = cacheShapes.map(([valueShape, cacheShape, start]) => ({ op: 'update_cache', value: tensor(valueShape), value_shape: valueShape, cache: tensor(cacheShape), cache_shape: cacheShape, start_pos: start }));

    const cases = [...sdpaCases, ...cacheCases];
    const reference = spawnSync(toolchain.python, ['-m', 'onboard_executorch.kernel_reference'], {
      cwd: PYTHON_DIR,
      env: pythonEnv(),
      input: JSON.stringify(cases, (_key, value: unknown) => (value instanceof Float32Array ? Array.from(value) : value)),
      maxBuffer: 64 * 2 ** 20,
    });
    assert.equal(reference.status, 0, reference.stderr.toString().slice(-2000));
    const expected = JSON.parse(reference.stdout.toString()) as number[][];

    sdpaCases.forEach((c, i) => {
      const out = new Float32Array(c.q.length);
      kernels.customSdpa(c.q, c.q_shape, c.k, c.k_shape, c.v, c.v_shape, c.start_pos, c.is_causal, out);
      const difference = maxDifference(out, expected[i]!);
      assert.ok(difference < 1e-5, `custom_sdpa ${JSON.stringify(sdpaShapes[i])}: max difference ${difference}`);
    });
    cacheCases.forEach((c, i) => {
      kernels.updateCache(c.value, c.value_shape, c.cache, c.cache_shape, c.start_pos);
      assert.equal(maxDifference(c.cache, expected[sdpaCases.length + i]!), 0, `update_cache ${JSON.stringify(cacheShapes[i])}`);
    });
  });

  it('refuse positions outside the cache with an error, not a crash', async () => {
    const runtime = await setupNativeRuntime({ log: () => {} }); // a no-op when installed
    const kernels = loadNativeAddon(runtime.addonPath).kernelsForTest;
    assert.throws(() => kernels.updateCache(tensor([1, 4, 2, 8]), [1, 4, 2, 8], tensor([1, 8, 2, 8]), [1, 8, 2, 8], 6), /refused/);
    const q = tensor([1, 4, 2, 8]);
    assert.throws(() => kernels.customSdpa(q, [1, 4, 2, 8], tensor([1, 8, 2, 8]), [1, 8, 2, 8], tensor([1, 8, 2, 8]), [1, 8, 2, 8], 6, true, new Float32Array(q.length)), /refused/);
  });

  it('argmax gives the core\'s answer: the largest logit, the first of equals', async () => {
    const runtime = await setupNativeRuntime({ log: () => {} });
    const addon = loadNativeAddon(runtime.addonPath);
    for (const length of [1, 7, 49152]) {
      const row = tensor([length]);
      assert.equal(addon.argmax(row), argmax(row), `random row of ${length}`);
    }
    const ties = Float32Array.from([0.5, 3, -1, 3, 3, 2]);
    assert.equal(addon.argmax(ties), 1);
    const last = new Float32Array(49152).fill(-7);
    last[49151] = -6.5;
    assert.equal(addon.argmax(last), 49151);
  });
});
