// `npm run bench:ttft`: time to first token of onboard's runner against raw node-llama-cpp in ONE
// process, interleaved with the order swapped every round, so the machine's drift between
// processes (which dominates `bench:speed`'s ttft column on a shared VM) cancels out.
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { createApp, DEFAULT_CONTEXT_SIZE } from '../app/composition.js';
import { tokenizeConversation } from '../core/context-window.js';
import { BENCH_PROMPT, median } from './measure.js';

const rounds = Number(process.env.BENCH_RUNS ?? 30);
const threads = Number(process.env.BENCH_THREADS) || 2;
const app = createApp();
const runner = await app.openRunner({ contextSize: DEFAULT_CONTEXT_SIZE, backend: 'cpu', threads });
const ids = tokenizeConversation(runner.model, runner.template, [{ role: 'user', content: BENCH_PROMPT }]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: runner.model.info.path, gpuLayers: 0 });
const context = await model.createContext({ contextSize: DEFAULT_CONTEXT_SIZE, threads, sequences: 1 });
const sequence = context.getSequence();

const raw: number[] = [];
const onboard: number[] = [];
async function rawOnce(): Promise<void> {
  await sequence.clearHistory();
  const started = performance.now();
  for await (const _token of sequence.evaluate(ids as Token[], { temperature: 0 })) {
    raw.push(performance.now() - started);
    break;
  }
}
async function onboardOnce(): Promise<void> {
  await runner.clearCaches();
  for await (const chunk of runner.chat([{ role: 'user', content: BENCH_PROMPT }], { sampling: { temperature: 0, repeatPenalty: 1 }, maxTokens: 1 })) {
    if (chunk.type === 'done') onboard.push(chunk.stats.timeToFirstTokenMs);
  }
}
for (let i = 0; i < rounds; i++) {
  if (i % 2) await rawOnce().then(onboardOnce);
  else await onboardOnce().then(rawOnce);
}
process.stdout.write(`prompt ${ids.length} tokens, ${threads} threads, ${rounds} rounds interleaved\n`);
process.stdout.write(`time to first token, median: raw ${median(raw).toFixed(1)} ms, onboard ${median(onboard).toFixed(1)} ms, onboard / raw ${(median(onboard) / median(raw)).toFixed(3)}x\n`);
await context.dispose();
await model.dispose();
await runner.close();
