// Parity: the fp32 .pte against Hugging Face transformers on the same weights,
// teacher-forced, top-1 agreement per position (python/onboard_executorch/parity.py).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { defaultModelPath, repoRoot, runCli } from './helpers.js';

const EXPORT_TIMEOUT_MS = 45 * 60_000;

describe('ExecuTorch parity', { timeout: EXPORT_TIMEOUT_MS }, () => {
  it('the fp32 .pte agrees with transformers on the top-1 token at 99% or more of positions', async () => {
    const exported = await runCli(['export', '--config', join(repoRoot, 'configs/smollm2-135m-xnnpack-fp32.yaml'), '--json'], { timeoutMs: EXPORT_TIMEOUT_MS });
    assert.equal(exported.code, 0, exported.stderr);
    const pte = JSON.parse(exported.stdout).model.path as string;
    const result = spawnSync(join(venvDir(), 'bin/python'), ['-m', 'onboard_executorch.parity', pte, join(pte, '../tokenizer.json'), await defaultModelPath()], {
      cwd: join(repoRoot, 'python'),
      encoding: 'utf8',
      timeout: 600_000,
    });
    assert.equal(result.status, 0, result.stderr.slice(-2000));
    const parity = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { positions: number; agree: number; top1_agreement: number };
    assert.ok(parity.positions >= 90, `${parity.positions} positions`);
    assert.ok(parity.top1_agreement >= 0.99, `top-1 agreement ${parity.agree}/${parity.positions}`);
  });
});
