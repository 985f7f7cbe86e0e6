// onboard changes how ExecuTorch's exporter runs (python/onboard_executorch/speedups.py: shared
// provenance records, no decomposition or retrace of a graph nothing changed, partitioned graphs
// sorted in place, code generated when run, guards without CSE, fewer garbage collections), never what it makes. The same job, exported with and without those changes, gives the same bytes: a
// SYNTHETIC two-layer SmolLM2-shaped checkpoint, 8da8w like the default CPU export, so the
// quantized linears, both XNNPACK partitioners and the fused attention ops are all on the path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { repoRoot } from './helpers.js';
import { EXPORT_TIMEOUT_MS, syntheticExport } from './synthetic-export.js';

/** Runs one of test/python's checks in the toolchain's Python; its last line is its verdict. */
function pythonCheck(script: string, args: string[] = [], timeout = 120_000): string[] {
  const run = spawnSync(join(venvDir(), 'bin/python'), [join(repoRoot, 'test/python', script), ...args], {
    encoding: 'utf8',
    timeout,
    env: { ...process.env, PYTHONPATH: join(repoRoot, 'python') },
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n');
}

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-speedups-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the exporter's speedups", { timeout: 2 * EXPORT_TIMEOUT_MS }, () => {
  it('change nothing in the .pte: the same job exported with and without them has the same sha256', async () => {
    const faster = await syntheticExport('smollm2', scratch, { qmode: '8da8w' });
    const plain = await syntheticExport('smollm2', scratch, { qmode: '8da8w', suffix: '-no-speedups', env: { ONBOARD_EXPORT_NO_SPEEDUPS: '1' } });
    assert.notEqual(faster.pte, plain.pte, 'two exports, not one found twice in the cache');
    assert.equal(plain.sha256, faster.sha256);
  });
});

describe('the in-place sort of a partitioned graph', () => {
  it("leaves what torch's legalize_graph leaves, on 200 graphs scrambled out of order", () => {
    const result = JSON.parse(pythonCheck('sort_in_place.py', ['200']).join('\n')) as { trials: number; moved: number };
    assert.equal(result.trials, 200);
    assert.ok(result.moved > 200, `the scrambling moved nodes (${result.moved})`);
  });
});

describe('Python code generated when it is run (speedups.generate_code_when_run)', () => {
  it('leaves a graph module that runs, shows, prints, pickles and copies its current graph, and exports to the same program', () => {
    assert.equal(pythonCheck('lazy_code.py').at(-1), 'ok');
  });
});

describe("strict export's guards written without common-subexpression elimination (speedups.export_guards_without_cse)", () => {
  it('still refuses a dynamic dimension the model specialises, exports a valid one to the same program, and puts dynamo\'s own pass back', () => {
    assert.equal(pythonCheck('guard_check.py', [], 180_000).at(-1), 'ok');
  });
});

describe('smoothing before 8-bit activation quantization (python/onboard_executorch/smoothing.py)', () => {
  it('leaves the float model\'s logits and embedding as they were and narrows the outlier channels, on a random Llama with grouped-query attention', () => {
    assert.equal(pythonCheck('smoothing_check.py', [join(repoRoot, 'python')]).at(-1), 'ok');
  });

  it('runs in a real export from a Hugging Face directory: labelled in the manifest, and the program still agrees with the unsmoothed reference', { timeout: EXPORT_TIMEOUT_MS }, async () => {
    const smoothed = await syntheticExport('smollm2', scratch, { qmode: '8da8w', smooth: 0.4, suffix: '-smoothed' });
    assert.equal(smoothed.manifest.quantization, '8da8w-per-channel, smoothed 0.4');
    // The reference is transformers on the source as it was: smoothing that changed what the float
    // model computes would leave these random weights agreeing on almost nothing.
    const quality = smoothed.manifest.quality!;
    assert.ok(quality.positions > 100 && quality.top1Agreement >= 0.6, JSON.stringify(quality));
  });
});
