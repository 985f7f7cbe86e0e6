// Parity: the fp32 .pte against Hugging Face transformers on the same weights,
// teacher-forced, top-1 agreement per position (python/onboard_executorch/parity.py),
// on ExecuTorch's Python runtime and on onboard's native one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { nativeTop1 } from '../src/bench/native-top1.js';
import { defaultModelPath, repoRoot, runCli } from './helpers.js';

const EXPORT_TIMEOUT_MS = 45 * 60_000;

describe('ExecuTorch parity', { timeout: EXPORT_TIMEOUT_MS }, () => {
  it('the fp32 .pte agrees with transformers on the top-1 token at 99% or more of positions, on both runtimes', async () => {
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

    const top1 = spawnSync(join(venvDir(), 'bin/python'), ['-m', 'onboard_executorch.parity', '--top1', pte, join(pte, '../tokenizer.json'), await defaultModelPath()], {
      cwd: join(repoRoot, 'python'),
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 1 << 24,
    });
    assert.equal(top1.status, 0, top1.stderr.slice(-2000));
    const { ids, transformers } = JSON.parse(top1.stdout.trim().split('\n').at(-1)!) as { ids: number[]; transformers: number[] };
    const native = await nativeTop1(pte, ids);
    const agree = native.filter((token, i) => token === transformers[i]).length;
    assert.ok(agree / ids.length >= 0.99, `native runtime: top-1 agreement ${agree}/${ids.length}`);
  });
});
