// `onboard dev make-checkpoint` and `dev to-gguf` refuse bad input with a typed error before any
// slow step, and write nothing. (test/architectures.test.ts runs what they make.)
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFriendly, runCli } from './helpers.js';

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-synthetic-cli-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('onboard dev: bad input is refused and nothing is written', () => {
  const cases: Array<{ name: string; args: (dir: string) => string[]; expect: RegExp }> = [
    { name: 'an unknown architecture names the known ones', args: (dir) => ['make-checkpoint', '--arch', 'gpt2', '--out', dir], expect: /--arch: "gpt2" is not one of llama3_2, smollm2, qwen2_5, qwen3, phi_4_mini, lfm2, motif/ },
    { name: 'zero layers', args: (dir) => ['make-checkpoint', '--arch', 'qwen3', '--layers', '0', '--out', dir], expect: /--layers: must be a whole number from 1 to 128/ },
    { name: 'a vocabulary too small for the bytes and the merges', args: (dir) => ['make-checkpoint', '--arch', 'qwen3', '--vocab', '100', '--out', dir], expect: /--vocab: must be a whole number from 512/ },
    { name: 'a layer count that is not a number', args: (dir) => ['make-checkpoint', '--arch', 'qwen3', '--layers', 'two', '--out', dir], expect: /--layers: "two" is not a whole number/ },
    { name: 'a GGUF type the converter does not write', args: (dir) => ['to-gguf', '--checkpoint', dir, '--out', join(dir, 'x.gguf'), '--type', 'q4_0'], expect: /--type: "q4_0" is not one of f32, f16, bf16, q8_0/ },
    { name: 'to-gguf on a directory that is not a synthetic checkpoint', args: (dir) => ['to-gguf', '--checkpoint', dir, '--out', join(dir, 'x.gguf')], expect: /is not a synthetic checkpoint \(no synthetic\.json\)/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = await mkdtemp(join(scratch, 'case-'));
      await writeFile(join(dir, 'config.json'), '{}');
      const result = await runCli(['dev', ...c.args(dir)]);
      assertFriendly(result, 'INVALID_OPTION', 2);
      assert.match(result.stderr, c.expect);
      assert.deepEqual(await readdir(dir), ['config.json'], 'nothing written');
    });
  }
});
