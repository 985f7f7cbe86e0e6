// A program that calls a kernel only the Python side registers (ExecuTorch's
// llama::fast_hadamard_transform, which onboard's native runtime does not implement): `auto` runs
// it on the Python host and says why; `native` refuses it with the runtime's own words. The
// program is a tiny language model made here with the toolchain (an embedding, the transform
// and a projection, token ids and a start position in, logits out).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { resolveSampling } from '../src/core/sampling.js';
import { EXPORT_TIMEOUT_MS, SYNTHETIC_VOCAB, syntheticExport } from './synthetic-export.js';

const MAKE_PROGRAM = `
import sys, torch
from executorch.exir import to_edge
import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401  (defines llama::fast_hadamard_transform)

class Tiny(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, 64)
        self.out = torch.nn.Linear(64, vocab)

    def forward(self, tokens, input_pos):
        hidden = torch.ops.llama.fast_hadamard_transform(self.embed(tokens))
        return self.out(hidden[:, -1, :])

torch.manual_seed(0)
vocab = int(sys.argv[2])
tokens = torch.export.Dim("tokens", min=1, max=63)
exported = torch.export.export(Tiny(vocab).eval(), (torch.zeros(1, 4, dtype=torch.long), torch.tensor([0])), dynamic_shapes=({1: tokens}, None))
methods = {"get_max_seq_len": 64, "get_vocab_size": vocab, "use_kv_cache": False, "get_bos_id": 0, "get_eos_ids": [1]}
open(sys.argv[1], "wb").write(to_edge(exported, constant_methods=methods).to_executorch().buffer)
`;

let dir: string;
let program: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onboard-fallback-'));
  const { pte } = await syntheticExport('llama3_2', dir);
  await setupNativeRuntime({ log: () => {} });
  program = join(dir, 'hadamard.pte');
  const made = spawnSync(join(venvDir(), 'bin', 'python'), ['-c', MAKE_PROGRAM, program, String(SYNTHETIC_VOCAB)], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(made.status, 0, made.stderr.slice(-3000));
  // The synthetic model's tokenizer has the same 1024 ids.
  await copyFile(join(pte, '..', 'tokenizer.json'), join(dir, 'tokenizer.json'));
}, { timeout: EXPORT_TIMEOUT_MS });

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a program that needs a kernel only the Python side has', { timeout: 300_000 }, () => {
  it('auto runs it on the Python host and says which kernel the native runtime lacks', async () => {
    const model = await new ExecuTorchEngine({ runtime: 'auto' }).load({ modelPath: program, contextSize: 64, target: 'auto' });
    try {
      assert.match(model.backend.reason, /run by the Python host, because the native runtime lacks llama::fast_hadamard_transform\.out/);
      const sequence = model.createSequence();
      const generation = await sequence.begin(model.tokenize('Hello there', { special: true }), resolveSampling({ temperature: 0 }));
      const first = await generation.tokens.next();
      assert.ok(!first.done && Number.isInteger(first.value) && first.value < SYNTHETIC_VOCAB, JSON.stringify(first));
    } finally {
      await model.unload();
    }
  });

  it('native refuses it, naming the missing operator', async () => {
    await assert.rejects(new ExecuTorchEngine({ runtime: 'native' }).load({ modelPath: program, contextSize: 64, target: 'auto' }), /OperatorMissing.*missing: llama::fast_hadamard_transform\.out/);
  });
});
