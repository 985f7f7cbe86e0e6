// Every architecture the exporter converts, proven on a SYNTHETIC checkpoint of each: the published
// model's configuration at reduced depth (2 layers, a 1024-token vocabulary) with seeded random
// weights. Per architecture: the export succeeds, `onboard inspect` reads it, `onboard run` answers,
// both ExecuTorch runtimes run it with KV-cache reuse, and the fp32 program agrees with transformers
// on the same weights at 99% or more teacher-forced top-1, on both runtimes. Random weights say
// nothing useful, so no test looks at what the answers say.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import type { SyntheticCheckpoint } from '../src/adapters/executorch/synthetic-checkpoint.js';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { nativeTop1 } from '../src/bench/native-top1.js';
import { ChatSession } from '../src/core/chat-session.js';
import { EXPORT_FAMILIES, exportFamily } from '../src/core/export-config.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { repoRoot, runCli } from './helpers.js';
import { EXPORT_TIMEOUT_MS, SYNTHETIC_LAYERS, SYNTHETIC_VOCAB, syntheticExport, type SyntheticExport } from './synthetic-export.js';

const LAYERS = SYNTHETIC_LAYERS;
const VOCAB = SYNTHETIC_VOCAB;

/** Each architecture, with the shipped config for its published model. */
const ARCHITECTURES = [
  { arch: 'llama3_2', config: 'llama-3.2-1b-instruct-xnnpack-8da4w.yaml' },
  { arch: 'qwen2_5', config: 'qwen2.5-0.5b-instruct-xnnpack-8da4w.yaml' },
  { arch: 'qwen3', config: 'qwen3-0.6b-xnnpack-8da4w.yaml' },
  { arch: 'phi_4_mini', config: 'phi-4-mini-instruct-xnnpack-8da4w.yaml' },
  { arch: 'lfm2', config: 'lfm2-350m-xnnpack-8da4w.yaml' },
  { arch: 'motif', config: 'motif-2.6b-xnnpack-8da4w.yaml' },
] as const;

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-architectures-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function python(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(join(venvDir(), 'bin/python'), args, { cwd: join(repoRoot, 'python'), encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
}

function lastJson<T>(text: string): T {
  return JSON.parse(text.trim().split('\n').at(-1)!) as T;
}

describe('the converter families and the config schema name the same model classes', () => {
  it('every family module lists exactly the classes the schema gives it', () => {
    const listed = python(['-c', 'import json; from onboard_executorch import architectures as a; print(json.dumps({f.__name__.split(".")[-1]: list(f.MODEL_CLASSES) for f in a.FAMILIES}))']);
    assert.equal(listed.status, 0, listed.stderr.slice(-2000));
    assert.deepEqual(lastJson(listed.stdout), EXPORT_FAMILIES);
  });
});

for (const { arch, config } of ARCHITECTURES) {
  describe(`a synthetic ${arch} checkpoint (${LAYERS} layers)`, { timeout: EXPORT_TIMEOUT_MS }, () => {
    let checkpoint: SyntheticCheckpoint;
    let pte: string;

    before(async () => {
      let manifest: SyntheticExport['manifest'];
      ({ checkpoint, pte, manifest } = await syntheticExport(arch, scratch));
      const shipped = parseYaml(await readFile(join(repoRoot, 'configs', config), 'utf8')) as { base: { model_class: string } };
      assert.equal(shipped.base.model_class, checkpoint.model_class, 'the shipped config names the class the checkpoint maker gives');
      assert.equal(manifest.synthetic?.layers, LAYERS, 'the manifest marks the model synthetic');
      assert.equal(manifest.synthetic?.shapeOf, checkpoint.shape_of);
      await setupNativeRuntime({ log: () => {} });
    });

    it('the shipped config validates with this architecture\'s family', async () => {
      const family = exportFamily(checkpoint.model_class);
      assert.ok((EXPORT_FAMILIES[family] as readonly string[]).includes(checkpoint.model_class));
      // A checkpoint of this architecture exported under another family's class is refused before exporting.
      const other = family === 'llama' ? 'qwen3_0_6b' : 'llama3_2';
      const wrong = await runCli(['export', '--config', join(repoRoot, 'configs', config), '--checkpoint', checkpoint.path, '--set', `base.model_class=${other}`, '--output-name', 'test-never-exported']);
      assert.equal(wrong.code, 10, wrong.stderr);
      assert.match(wrong.stderr, /EXPORT_SOURCE_INVALID/);
      assert.match(wrong.stderr, new RegExp(`base\\.model_class to one of .*${checkpoint.model_class}`));
    });

    it('onboard inspect reads the .pte: the vocabulary, the KV cache and the XNNPACK delegate', async () => {
      const inspected = await runCli(['inspect', pte, '--json']);
      assert.equal(inspected.code, 0, inspected.stderr);
      const summary = JSON.parse(inspected.stdout) as { backends: string[]; llm: { vocabSize?: number; nLayers?: number; useKvCache?: boolean } };
      assert.equal(summary.llm.vocabSize, VOCAB);
      assert.equal(summary.llm.nLayers, LAYERS);
      assert.equal(summary.llm.useKvCache, true);
      assert.ok(summary.backends.includes('XnnpackBackend'), summary.backends.join(', '));
    });

    it('onboard run answers with it and reports the stats', async () => {
      const ran = await runCli(['run', '--model', pte, '--json', '--temperature', '0', '--max-tokens', '8', 'Hello there']);
      assert.equal(ran.code, 0, ran.stderr);
      const answer = JSON.parse(ran.stdout) as { stats: { engine: string; decodeTokens: number; prefillTokens: number } };
      assert.equal(answer.stats.engine, 'executorch');
      assert.ok(answer.stats.prefillTokens > 0 && answer.stats.decodeTokens > 0);
    });

    for (const runtime of ['native', 'python'] as const) {
      it(`the ${runtime} runtime runs a two-turn chat and reuses the KV cache`, async () => {
        const model = await new ExecuTorchEngine({ runtime }).load({ modelPath: pte, contextSize: 256, target: 'auto' });
        const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, onWarning: () => {} });
        try {
          const chat = new ChatSession(runner, { systemPrompt: 'You are a helpful assistant.' });
          let first;
          for await (const chunk of chat.send('What is the capital of France?', { sampling: { temperature: 0 }, maxTokens: 8 })) if (chunk.type === 'done') first = chunk.stats;
          assert.ok(first!.decodeTokens > 0);
          let second;
          for await (const chunk of chat.send('And of Germany?', { sampling: { temperature: 0 }, maxTokens: 8 })) if (chunk.type === 'done') second = chunk.stats;
          assert.ok(second!.reusedTokens >= first!.prefillTokens, `reused ${second!.reusedTokens} cached tokens of ${second!.promptTokens}`);
          assert.ok(second!.prefillTokens < second!.promptTokens, 'only the new turn is prefilled');
        } finally {
          await runner.close();
        }
      });
    }

    it('the fp32 program agrees with the reference (transformers; Motif: our eager module) on the same weights at 99% or more top-1, on both runtimes', async (t) => {
      const tokenizer = join(pte, '../tokenizer.json');
      const parity = python(['-m', 'onboard_executorch.parity', '--top1', pte, tokenizer, checkpoint.path]);
      assert.equal(parity.status, 0, parity.stderr.slice(-2000));
      const { ids, pte: python_, transformers } = lastJson<{ ids: number[]; pte: number[]; transformers: number[] }>(parity.stdout);
      assert.ok(ids.length >= 90, `${ids.length} positions`);
      // Random weights still pick varied tokens: agreement on a constant answer would prove little.
      assert.ok(new Set(transformers).size >= 10, `transformers picked only ${new Set(transformers).size} distinct tokens`);
      const agreeing = (tops: number[]) => tops.filter((token, i) => token === transformers[i]).length;
      const agreement = (tops: number[]) => agreeing(tops) / ids.length;
      assert.ok(agreement(python_) >= 0.99, `python runtime: top-1 agreement ${agreement(python_)}`);
      const native = await nativeTop1(pte, ids);
      assert.ok(agreement(native) >= 0.99, `native runtime: top-1 agreement ${agreement(native)}`);
      t.diagnostic(`${arch} parity: python ${agreeing(python_)}/${ids.length}, native ${agreeing(native)}/${ids.length}, ${new Set(transformers).size} distinct reference tokens`);
    });
  });
}
