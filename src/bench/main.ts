// `npm run bench`: onboard vs raw node-llama-cpp on the default model, same
// threads, context and prompt tokens, alternating, each run in a fresh process.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createApp } from '../app/composition.js';
import { tokenizeConversation } from '../core/context-window.js';
import { BENCH_PROMPT, median, type BenchSettings, type RunResult } from './measure.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const multiTurnRuns = Number(process.env.BENCH_MULTI_TURN_RUNS ?? 3);

async function once(kind: 'onboard' | 'raw', settings: BenchSettings, multiTurn = false): Promise<RunResult> {
  const { stdout } = await run(process.execPath, [worker, kind, JSON.stringify(settings), ...(multiTurn ? ['--multi-turn'] : [])], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

const app = createApp();
const modelPath = (await app.resolver.resolve()).path;
const threads = Number(process.env.BENCH_THREADS) || availableParallelism();
const contextSize = 2048;

// The prompt exactly as onboard renders and tokenizes it, so raw evaluates the same tokens.
const probe = await app.openRunner({ model: modelPath, contextSize: 256, threads: 1, backend: 'cpu' });
const promptTokens = tokenizeConversation(probe.model, probe.template, [{ role: 'user', content: BENCH_PROMPT }]);
await probe.close();

const settings: BenchSettings = { modelPath, threads, contextSize, maxTokens: 128, prompt: BENCH_PROMPT, promptTokens };
process.stderr.write(`model ${modelPath}\nthreads ${threads}, context ${contextSize}, prompt ${promptTokens.length} tokens, up to ${settings.maxTokens} answer tokens, ${runs} runs each, alternating\n`);

const results: Record<'onboard' | 'raw', RunResult[]> = { onboard: [], raw: [] };
for (let i = 0; i < runs; i++) {
  const order: Array<'onboard' | 'raw'> = i % 2 === 0 ? ['onboard', 'raw'] : ['raw', 'onboard'];
  for (const kind of order) {
    const result = await once(kind, settings);
    results[kind].push(result);
    process.stderr.write(`  run ${i + 1} ${kind.padEnd(7)} decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s, ttft ${result.timeToFirstTokenMs.toFixed(1)} ms, ${result.decodeTokens} tokens\n`);
  }
}
const multiTurn = [];
for (let i = 0; i < multiTurnRuns; i++) multiTurn.push((await once('onboard', settings, true)).multiTurn!);

const metrics: Array<[keyof RunResult, string, 'higher' | 'lower']> = [
  ['loadMs', 'model load (ms)', 'lower'],
  ['timeToFirstTokenMs', 'time to first token (ms)', 'lower'],
  ['prefillTokensPerSecond', 'prefill (tok/s)', 'higher'],
  ['decodeTokensPerSecond', 'decode (tok/s)', 'higher'],
  ['peakRssBytes', 'peak RSS (MiB)', 'lower'],
];
const table = metrics.map(([key, label, better]) => {
  const scale = key === 'peakRssBytes' ? 2 ** 20 : 1;
  const onboard = median(results.onboard.map((r) => Number(r[key]))) / scale;
  const raw = median(results.raw.map((r) => Number(r[key]))) / scale;
  return { metric: label, onboard, raw, ratio: onboard / raw, better };
});
const turn = {
  turn: multiTurn[0]?.turn,
  promptTokens: median(multiTurn.map((m) => m.promptTokens)),
  reuseTtftMs: median(multiTurn.map((m) => m.reuseTtftMs)),
  reusePrefillTokens: median(multiTurn.map((m) => m.reusePrefillTokens)),
  fullTtftMs: median(multiTurn.map((m) => m.fullTtftMs)),
  fullPrefillTokens: median(multiTurn.map((m) => m.fullPrefillTokens)),
};

const lines = [
  `| metric (median of ${runs}) | onboard | raw node-llama-cpp | onboard / raw |`,
  '|---|---:|---:|---:|',
  ...table.map((row) => `| ${row.metric} | ${row.onboard.toFixed(1)} | ${row.raw.toFixed(1)} | ${row.ratio.toFixed(3)}x |`),
  '',
  `| multi-turn, turn ${turn.turn} (median of ${multiTurnRuns}) | prompt tokens | prefilled tokens | time to first token (ms) |`,
  '|---|---:|---:|---:|',
  `| onboard, KV cache reused | ${turn.promptTokens} | ${turn.reusePrefillTokens} | ${turn.reuseTtftMs.toFixed(1)} |`,
  `| whole history prefilled again | ${turn.promptTokens} | ${turn.fullPrefillTokens} | ${turn.fullTtftMs.toFixed(1)} |`,
  `| speed-up | | | ${(turn.fullTtftMs / turn.reuseTtftMs).toFixed(1)}x |`,
];
process.stdout.write(`\n${lines.join('\n')}\n`);

await mkdir('bench-results', { recursive: true });
const file = `bench-results/llamacpp-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(file, `${JSON.stringify({ settings: { ...settings, promptTokens: promptTokens.length }, node: process.version, results, table, multiTurn: { runs: multiTurn, median: turn } }, null, 2)}\n`);
process.stdout.write(`\nraw results: ${file}\n`);
