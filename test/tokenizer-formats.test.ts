// A .pte from ExecuTorch's own export_llm arrives with the tokenizer it was trained with, in one
// of the four formats ExecuTorch's runner reads. No real Llama 2 or Llama 3 tokenizer file can be
// fetched here, so test/python/tokenizer_formats.py MAKES one of each (sized for the synthetic
// model's 1024-token vocabulary), and the ids onboard gives must equal those of
// pytorch_tokenizers, the C++ tokenizers the runner links, on the same texts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { venvDir } from '../src/adapters/executorch/toolchain.js';
import { loadTokenizer } from '../src/adapters/executorch/tokenizers/load-tokenizer.js';
import type { TokenizerFormat } from '../src/adapters/executorch/tokenizers/text-tokenizer.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { ChatSession } from '../src/core/chat-session.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { assertFriendly, repoRoot, runCli } from './helpers.js';
import { EXPORT_TIMEOUT_MS, SYNTHETIC_VOCAB, syntheticExport } from './synthetic-export.js';

const FORMATS: TokenizerFormat[] = ['huggingface', 'tiktoken', 'sentencepiece', 'llama2c'];

interface Made {
  files: Record<TokenizerFormat, string>;
  texts: Record<TokenizerFormat, string[]>;
  references: Record<TokenizerFormat, { bos: number; eos: number; ids: number[][] }>;
}

let scratch: string;
let pte: string;
let made: Made;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'onboard-tokenizers-'));
  ({ pte } = await syntheticExport('llama3_2', scratch));
  await setupNativeRuntime({ log: () => {} });
  // The SentencePiece model is trained on the project's own docs: enough text for 1024 pieces.
  const docs = join(repoRoot, 'docs');
  const corpus = join(scratch, 'corpus.txt');
  const texts = await Promise.all([join(repoRoot, 'README.md'), ...(await readdir(docs)).filter((f) => f.endsWith('.md')).map((f) => join(docs, f))].map((f) => readFile(f, 'utf8')));
  await writeFile(corpus, texts.join('\n'));
  const script = spawnSync(join(venvDir(), 'bin/python'), [join(repoRoot, 'test/python/tokenizer_formats.py'), join(pte, '..', 'tokenizer.json'), corpus, join(scratch, 'made')], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 24 });
  assert.equal(script.status, 0, script.stderr.slice(-3000));
  made = JSON.parse(script.stdout) as Made;
}, { timeout: EXPORT_TIMEOUT_MS });

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('each tokenizer format ExecuTorch\'s runner reads (made files, since no real one can be fetched here)', { timeout: 600_000 }, () => {
  for (const format of FORMATS) {
    it(`${format}: read by content, and its ids equal pytorch_tokenizers' on plain, non-ASCII, whitespace${format === 'tiktoken' || format === 'huggingface' ? ' and special-token' : ''} texts`, async () => {
      const tokenizer = await loadTokenizer(pte, made.files[format]);
      assert.equal(tokenizer.format, format);
      assert.ok(tokenizer.size <= SYNTHETIC_VOCAB, `${tokenizer.size} ids fit the model`);
      const texts = made.texts[format];
      assert.ok(texts.some((text) => [...text].some((c) => c.codePointAt(0)! > 0x7f)), 'non-ASCII texts are compared');
      texts.forEach((text, i) => assert.deepEqual(tokenizer.encode(text), made.references[format].ids[i], `ids of ${JSON.stringify(text)}`));
      if (format === 'sentencepiece' || format === 'llama2c') {
        // The runner adds BOS itself; chat templates that spell it get the same id here.
        const { bos, eos } = made.references[format];
        assert.deepEqual(tokenizer.encode(`${tokenizer.tokenText(bos)}Hi${tokenizer.tokenText(eos)}`), [bos, ...tokenizer.encode('Hi'), eos]);
      }
      // Decoding gives the text back (llama2.c keeps the leading space it adds, as its runner does).
      for (const text of texts.filter((t) => !t.includes('<|'))) {
        const back = tokenizer.decode(tokenizer.encode(text));
        assert.equal(format === 'llama2c' && text !== '' ? back.slice(1) : back, text);
      }
    });
  }

  for (const format of ['tiktoken', 'sentencepiece', 'llama2c'] as const) {
    it(`${format}: the engine tokenizes with it and the .pte answers, given with --tokenizer or found beside the program`, async () => {
      const model = await new ExecuTorchEngine({ runtime: 'native' }).load({ modelPath: pte, tokenizerPath: made.files[format], contextSize: 256, target: 'auto' });
      const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, onWarning: () => {} });
      try {
        const text = made.texts[format][4]!;
        assert.deepEqual(model.tokenize(text, { special: true }), made.references[format].ids[4]);
        const chat = new ChatSession(runner);
        let stats;
        for await (const chunk of chat.send('Hello there', { sampling: { temperature: 0 }, maxTokens: 4 })) if (chunk.type === 'done') stats = chunk.stats;
        assert.ok(stats!.decodeTokens > 0);
      } finally {
        await runner.close();
      }
      // A program copied with the tokenizer beside it, under the name ExecuTorch's examples use.
      const dir = join(scratch, `beside-${format}`);
      await mkdir(dir, { recursive: true });
      await copyFile(pte, join(dir, 'model.pte'));
      await copyFile(made.files[format], join(dir, format === 'llama2c' ? 'tokenizer.bin' : 'tokenizer.model'));
      const ran = await runCli(['run', '--model', join(dir, 'model.pte'), '--json', '--temperature', '0', '--max-tokens', '4', 'Hello there'], { timeoutMs: 180_000 });
      assert.equal(ran.code, 0, ran.stderr);
      const answer = JSON.parse(ran.stdout) as { stats: { engine: string; decodeTokens: number } };
      assert.equal(answer.stats.engine, 'executorch');
      assert.ok(answer.stats.decodeTokens > 0);
    });
  }
});

describe('tokenizer files that cannot serve the program get a typed error', { timeout: 300_000 }, () => {
  const ask = (tokenizer: string, extra: string[] = []) => runCli(['run', '--model', pte, '--tokenizer', tokenizer, ...extra, '--max-tokens', '2', 'Hi'], { timeoutMs: 180_000 });

  it('a truncated llama2.c or SentencePiece file and a tiktoken file without byte tokens are MODEL_CORRUPT, saying why', async () => {
    const model = await readFile(made.files.sentencepiece);
    const cutModel = join(scratch, 'cut.model');
    await writeFile(cutModel, model.subarray(0, Math.floor(model.length / 3)));
    const cutSp = await ask(cutModel);
    assertFriendly(cutSp, 'MODEL_CORRUPT', 3);
    assert.match(cutSp.stderr, /not a SentencePiece model/);

    const bytes = await readFile(made.files.llama2c);
    const truncated = join(scratch, 'truncated.bin');
    await writeFile(truncated, bytes.subarray(0, bytes.length - 100));
    const cut = await ask(truncated);
    assertFriendly(cut, 'MODEL_CORRUPT', 3);
    assert.match(cut.stderr, /not a llama2\.c tokenizer\.bin: (it ends at token|token) \d+/);

    const partial = join(scratch, 'partial.model');
    await writeFile(partial, 'IQ== 0\nIg== 1\nIw== 2\n');
    const few = await ask(partial);
    assertFriendly(few, 'MODEL_CORRUPT', 3);
    assert.match(few.stderr, /no token for the byte 0x00/);
  });

  it('another model\'s tokenizer, with more ids than the program has rows, is refused by --tokenizer', async () => {
    const big = (await readFile(made.files.tiktoken, 'utf8')).trim().split('\n');
    const larger = join(scratch, 'larger.model');
    await writeFile(larger, [...big, ...Array.from({ length: 100 }, (_, i) => `${Buffer.from(`extra${i}`).toString('base64')} ${big.length + i}`)].join('\n') + '\n');
    const refused = await ask(larger);
    assertFriendly(refused, 'INVALID_OPTION', 2);
    assert.match(refused.stderr, /it has 1124 tokens and the model only 1024/);
  });

  it('constrained output with a tokenizer that is not tokenizer.json says what it needs', async () => {
    const schema = join(scratch, 'schema.json');
    await writeFile(schema, JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } }));
    const refused = await ask(made.files.sentencepiece, ['--json-schema', schema]);
    assertFriendly(refused, 'CONSTRAINT_UNSUPPORTED', 5);
    assert.match(refused.stderr, /sentencepiece file; constrained output needs a Hugging Face tokenizer\.json/);
    assert.match(refused.stderr, /hint: Give the model's tokenizer\.json with --tokenizer/);
  });
});
