// `npm run bench:executorch`: the ExecuTorch engine, on the native runtime and on the Python host,
// against ExecuTorch's own C++ LLM runner (Python bindings) on the same .pte, and ExecuTorch's default CPU export (8da8w)
// against llama.cpp Q4_1 on the default model, in one run, same prompt token ids, greedy, each
// run in a fresh process.
import { execFile } from 'node:child_process';
import { stat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PYTHON_DIR, pythonEnv, requireToolchain } from '../adapters/executorch/toolchain.js';
import { createApp } from '../app/composition.js';
import { tokenizeConversation } from '../core/context-window.js';
import { BENCH_PROMPT, median, roundOrder, type RunResult } from './measure.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./engine-worker.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 3);
// BENCH_TOKENS: answer length (default 64); BENCH_KINDS: which sides run (default all four).
const maxTokens = Number(process.env.BENCH_TOKENS) || 64;
const PTE_ID = 'smollm2-135m-xnnpack-8da8w';

const app = createApp();
const pte = await app.cache.find(PTE_ID);
if (!pte || pte.manifest.format !== 'pte') {
  process.stderr.write(`${PTE_ID} is not in the cache: run \`onboard export -c configs/${PTE_ID}.yaml\` first\n`);
  process.exit(1);
}
const gguf = (await app.resolver.resolve()).path;
const toolchain = await requireToolchain();
const threads = Number(process.env.BENCH_THREADS) || availableParallelism();

const probe = await app.openRunner({ model: gguf, contextSize: 256, threads: 1, backend: 'cpu' });
const ids = tokenizeConversation(probe.model, probe.template, [{ role: 'user', content: BENCH_PROMPT }]);
await probe.close();

type Kind = 'native' | 'python' | 'runner' | 'llamacpp';
async function once(kind: Kind): Promise<RunResult> {
  if (kind === 'runner') {
    const tokenizer = join(pte!.path, '..', 'tokenizer.json');
    const { stdout } = await run(toolchain.python, ['-m', 'onboard_executorch.runner_bench', pte!.path, tokenizer, ids.join(','), String(maxTokens)], { cwd: PYTHON_DIR, env: pythonEnv(), maxBuffer: 1 << 22 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
  }
  const { stdout } = await run(process.execPath, [worker, kind, kind === 'llamacpp' ? gguf : pte!.path, JSON.stringify(ids), String(maxTokens), String(threads)], { maxBuffer: 1 << 22 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

process.stderr.write(`prompt ${ids.length} tokens, ${maxTokens} answer tokens (greedy), ${runs} runs of each, order shuffled every run\n`);
const results: Record<Kind, RunResult[]> = { native: [], python: [], runner: [], llamacpp: [] };
const ALL_KINDS: Kind[] = ['native', 'runner', 'python', 'llamacpp'];
const kinds = process.env.BENCH_KINDS ? ALL_KINDS.filter((kind) => process.env.BENCH_KINDS!.split(',').includes(kind)) : ALL_KINDS;
for (let i = 0; i < runs; i++) {
  for (const kind of roundOrder(kinds, i)) {
    const result = await once(kind);
    results[kind].push(result);
    process.stderr.write(`  run ${i + 1} ${kind.padEnd(10)} decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s, ttft ${result.timeToFirstTokenMs.toFixed(0)} ms, load ${result.loadMs.toFixed(0)} ms\n`);
  }
}

const med = (kind: Kind, key: keyof RunResult) => median(results[kind].map((r) => Number(r[key])));
const metrics: Array<[keyof RunResult, string]> = [
  ['loadMs', 'load (ms)'],
  ['timeToFirstTokenMs', 'time to first token (ms)'],
  ['prefillTokensPerSecond', 'prefill (tok/s)'],
  ['decodeTokensPerSecond', 'decode (tok/s)'],
  ['peakRssBytes', 'peak RSS (MiB)'],
  ['hostPeakRssBytes', 'peak RSS of the engine process alone (MiB)'],
];
const scale = (key: keyof RunResult) => (key === 'peakRssBytes' || key === 'hostPeakRssBytes' ? 2 ** 20 : 1);
const row = (a: Kind, b: Kind) =>
  metrics
    .filter(([key]) => results[a].some((r) => r[key] !== undefined) && results[b].some((r) => r[key] !== undefined))
    .map(([key, label]) => ({ metric: label, [a]: med(a, key) / scale(key), [b]: med(b, key) / scale(key), ratio: med(a, key) / med(b, key) }));
// Paired: the kinds run back to back in each round, so a ratio taken within the round, medianed
// over the rounds, cancels the drift between rounds that the ratio of medians carries.
const paired = (a: Kind, b: Kind, key: keyof RunResult) => median(results[a].map((r, round) => Number(r[key]) / Number(results[b][round]![key])));
const pairedRow = (a: Kind, b: Kind) => Object.fromEntries(metrics.filter(([key]) => key !== 'hostPeakRssBytes' && results[a].every((r) => r[key] !== undefined)).map(([key, label]) => [label, paired(a, b, key)]));
const sizes = { pteBytes: (await stat(pte.path)).size, ggufBytes: (await stat(gguf)).size };
const report = {
  command: 'npm run bench:executorch',
  runs,
  promptTokens: ids.length,
  maxTokens,
  threads,
  pteMiB: sizes.pteBytes / 2 ** 20,
  nativeVsRunner: row('native', 'runner'),
  nativeVsRunnerPaired: pairedRow('native', 'runner'),
  pythonVsRunner: row('python', 'runner'),
  nativeVsLlamacpp: results.llamacpp.length === 0 ? [] : [...row('native', 'llamacpp'), { metric: 'file size (MiB)', native: sizes.pteBytes / 2 ** 20, llamacpp: sizes.ggufBytes / 2 ** 20, ratio: sizes.pteBytes / sizes.ggufBytes }],
  raw: results,
};
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/executorch.json', `${JSON.stringify(report, null, 2)}\n`);
const print = (title: string, rows: Array<Record<string, number | string>>, a: string, b: string) => {
  if (rows.length === 0) return; // that side did not run (BENCH_KINDS)
  process.stdout.write(`\n${title}\n| metric | ${a} | ${b} | ratio |\n|---|---:|---:|---:|\n`);
  for (const r of rows) process.stdout.write(`| ${r.metric} | ${Number(r[a]).toFixed(1)} | ${Number(r[b]).toFixed(1)} | ${Number(r.ratio).toFixed(3)}x |\n`);
};
print('onboard ExecuTorch engine, native runtime, vs ExecuTorch C++ runner (same .pte), medians', report.nativeVsRunner, 'native', 'runner');
process.stdout.write(`paired (median of ${runs} per-round ratios): ${Object.entries(report.nativeVsRunnerPaired).map(([label, ratio]) => `${label} ${ratio.toFixed(3)}x`).join(', ')}\n`);
print('onboard ExecuTorch engine, Python host, vs ExecuTorch C++ runner (same .pte), medians', report.pythonVsRunner, 'python', 'runner');
print('ExecuTorch 8da8w (native) vs llama.cpp Q4_1 (default model), medians', report.nativeVsLlamacpp, 'native', 'llamacpp');
process.stdout.write(
  `\n.pte file ${report.pteMiB.toFixed(1)} MiB; target for the engine: at most ${(report.pteMiB * 1.5 + 100).toFixed(0)} MiB peak RSS (1.5x the file + 100 MiB).` +
    ` Native engine, median peak RSS: host process ${(med('native', 'hostPeakRssBytes') / 2 ** 20).toFixed(1)} MiB, host + the app's process ${(med('native', 'peakRssBytes') / 2 ** 20).toFixed(1)} MiB\n`,
);
