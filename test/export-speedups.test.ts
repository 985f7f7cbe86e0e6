// onboard changes how ExecuTorch's exporter runs (python/onboard_executorch/speedups.py: shared
// provenance records, and no decomposition or retrace of a graph nothing changed), never what
// it makes. The same job, exported with and without those changes, gives the same bytes: a
// SYNTHETIC two-layer SmolLM2-shaped checkpoint, 8da8w like the default CPU export, so the
// quantized linears, both XNNPACK partitioners and the fused attention ops are all on the path.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXPORT_TIMEOUT_MS, syntheticExport } from './synthetic-export.js';

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
