// `npm run bench:speed`: one speed everywhere. The same prompt ids and greedy settings through every
// entry point, each in a fresh process, in a shuffled order every round, with each path's ratio to its engine's
// reference: raw node-llama-cpp for the GGUF, ExecuTorch's own C++ runner for the .pte. The server
// is measured at the client (first request and fifth). The machine's CPU is printed with it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PYTHON_DIR, pythonEnv, toolchainState } from '../adapters/executorch/toolchain.js';
import { hostInfo } from '../adapters/system/host-info.js';
import { createApp, DEFAULT_CONTEXT_SIZE } from '../app/composition.js';
import { tokenizeConversation } from '../core/context-window.js';
import { BENCH_PROMPT, median, medianInterval, roundOrder, type BenchSettings, type RunResult } from './measure.js';
import { startServeProcess, streamAnswer } from './serve-process.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const engineWorker = fileURLToPath(new URL('./engine-worker.js', import.meta.url));
const cli = fileURLToPath(new URL('../entry/cli/main.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const maxTokens = 128;
const PTE_ID = 'smollm2-135m-xnnpack-8da8w';

const app = createApp();
const gguf = (await app.resolver.resolve()).path;
const host = await hostInfo();
const probe = await app.openRunner({ model: gguf, contextSize: 256, backend: 'cpu' });
const promptTokens = tokenizeConversation(probe.model, probe.template, [{ role: 'user', content: BENCH_PROMPT }]);
await probe.close();
// onboard's own default: the physical cores (node-llama-cpp's cpuMathCores).
const threads = Number(process.env.BENCH_THREADS) || (await import('node-llama-cpp').then(async (m) => (await m.getLlama({ gpu: false, build: 'never' })).cpuMathCores));
const settings: BenchSettings = { modelPath: gguf, threads, contextSize: DEFAULT_CONTEXT_SIZE, maxTokens, prompt: BENCH_PROMPT, promptTokens };
const pte = await app.cache.find(PTE_ID);
const toolchain = await toolchainState();
const executorch = pte && toolchain.state === 'ready' ? { pte, python: toolchain.python } : undefined;

type Path = 'raw' | 'raw-1-thread' | 'library' | 'run' | 'serve-first' | 'serve-fifth' | 'et-runner' | 'et-engine' | 'et-run' | 'et-serve-first' | 'et-serve-fifth';
interface Measure {
  paths: Path[];
  run: () => Promise<Array<[Path, RunResult]>>;
}

async function json<T>(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<T> {
  const { stdout } = await run(command, args, { maxBuffer: 1 << 22, ...options });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

/** `onboard run --json` as a user runs it: greedy, no repetition penalty (what the references do). */
async function viaRun(model: string): Promise<RunResult> {
  const { stats } = await json<{ stats: RunResult & { modelLoadMs: number } }>(process.execPath, [cli, 'run', '--json', '--model', model, '--backend', 'cpu', '--threads', String(threads), '--max-tokens', String(maxTokens), '--temperature', '0', '--repeat-penalty', '1', BENCH_PROMPT]);
  return { ...stats, loadMs: stats.modelLoadMs };
}

/** A fresh `onboard serve` with its defaults: five requests in a row; the first and the fifth are kept. */
async function viaServe(model: string): Promise<[RunResult, RunResult]> {
  const dir = await mkdtemp(join(tmpdir(), 'onboard-bench-'));
  const server = await startServeProcess(['--model', model, '--backend', 'cpu', '--threads', String(threads), '--db', join(dir, 'bench.db')]);
  try {
    const results: RunResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await streamAnswer(server.url, maxTokens));
    return [results[0]!, results[4]!];
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A measure of one path, one fresh process a round. */
const single = (path: Path, measure: () => Promise<RunResult>): Measure => ({ paths: [path], run: async () => [[path, await measure()]] });
/** A fresh server: its first and fifth request, measured together. */
const serve = (model: string, first: Path, fifth: Path): Measure => ({
  paths: [first, fifth],
  run: async () => {
    const [a, b] = await viaServe(model);
    return [
      [first, a],
      [fifth, b],
    ];
  },
});
const allMeasures: Measure[] = [
  single('raw', () => json<RunResult>(process.execPath, [worker, 'raw', JSON.stringify(settings)])),
  // onboard decodes each answer token on a measured thread count (core/decode-threads.ts); raw
  // node-llama-cpp on one thread shows what that count is worth here, beside raw on all of them.
  ...(threads > 1 ? [single('raw-1-thread', () => json<RunResult>(process.execPath, [worker, 'raw', JSON.stringify({ ...settings, threads: 1 })]))] : []),
  single('library', () => json<RunResult>(process.execPath, [worker, 'onboard', JSON.stringify(settings)])),
  single('run', () => viaRun(gguf)),
  serve(gguf, 'serve-first', 'serve-fifth'),
];
if (executorch) {
  const { pte: model, python } = executorch;
  const tokenizer = join(model.path, '..', 'tokenizer.json');
  allMeasures.push(
    single('et-runner', () => json<RunResult>(python, ['-m', 'onboard_executorch.runner_bench', model.path, tokenizer, promptTokens.join(','), String(maxTokens)], { cwd: PYTHON_DIR, env: pythonEnv() })),
    single('et-engine', () => json<RunResult>(process.execPath, [engineWorker, 'native', model.path, JSON.stringify(promptTokens), String(maxTokens), String(threads)])),
    single('et-run', () => viaRun(PTE_ID)),
    serve(PTE_ID, 'et-serve-first', 'et-serve-fifth'),
  );
}

// BENCH_PATHS=et-runner,et-run,et-serve-first runs only the measures that give one of those paths
// (a serve measure gives its first and fifth request together), for a quicker look at a few.
const only = process.env.BENCH_PATHS?.split(',').map((name) => name.trim()).filter(Boolean);
const measures = only ? allMeasures.filter((measure) => measure.paths.some((path) => only.includes(path))) : allMeasures;
process.stderr.write(`cpu ${host.cpu.model}, ${host.cpu.logicalCores} logical cores, ${host.cpu.features.join(' ')}\n`);
process.stderr.write(`threads ${threads}, prompt ${promptTokens.length} tokens, up to ${maxTokens} answer tokens, greedy, ${runs} rounds, order shuffled every round\n`);
if (!executorch) process.stderr.write(`ExecuTorch paths skipped: ${pte ? `the toolchain is not ready (onboard setup executorch)` : `${PTE_ID} is not in the cache (onboard export -c configs/${PTE_ID}.yaml)`}\n`);
const results = new Map<Path, RunResult[]>();
for (let round = 0; round < runs; round++) {
  for (const measure of roundOrder(measures, round)) {
    for (const [path, result] of await measure.run()) {
      results.set(path, [...(results.get(path) ?? []), result]);
      process.stderr.write(`  round ${round + 1} ${path.padEnd(15)} decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s, prefill ${result.prefillTokensPerSecond.toFixed(0)} tok/s, ttft ${result.timeToFirstTokenMs.toFixed(1)} ms\n`);
    }
  }
}

const med = (path: Path, key: keyof RunResult) => median((results.get(path) ?? []).map((r) => Number(r[key])));
const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}x`;
const row = (path: Path, reference: Path) => {
  const [decode, prefill, ttft] = (['decodeTokensPerSecond', 'prefillTokensPerSecond', 'timeToFirstTokenMs'] as const).map((key) => med(path, key));
  const ref = (key: keyof RunResult) => med(reference, key);
  return `| ${path} | ${decode!.toFixed(1)} | ${ratio(decode!, ref('decodeTokensPerSecond'))} | ${prefill!.toFixed(0)} | ${ratio(prefill!, ref('prefillTokensPerSecond'))} | ${ttft!.toFixed(1)} | ${ratio(ttft!, ref('timeToFirstTokenMs'))} |`;
};
const table = (title: string, reference: Path, paths: Path[]) => !results.has(reference) ? [] : [
  '',
  `| ${title} (median of ${runs}) | decode tok/s | vs ${reference} | prefill tok/s | vs ${reference} | time to first token (ms) | vs ${reference} |`,
  '|---|---:|---:|---:|---:|---:|---:|',
  ...paths.filter((p) => results.has(p)).map((p) => row(p, reference)),
];
// Paired: each round runs every path back to back, so a path's ratio to its reference in the same
// round cancels the drift between rounds that the medians above still carry (this VM's own
// time to first token moves by a third from one round to the next).
// The interval says how far the VM's noise leaves the median ratio uncertain: a bound inside it is
// neither met nor missed by this run.
const pairedRatios = (path: Path, reference: Path, key: keyof RunResult) => {
  const mine = results.get(path) ?? [];
  const theirs = results.get(reference) ?? [];
  return mine.map((r, round) => Number(r[key]) / Number(theirs[round]![key]));
};
const pairedCell = (path: Path, reference: Path, key: keyof RunResult) => {
  const ratios = pairedRatios(path, reference, key);
  const [low, high] = medianInterval(ratios);
  return `${median(ratios).toFixed(3)}x (${low.toFixed(3)}-${high.toFixed(3)})`;
};
const pairedTable = (reference: Path, paths: Path[]) => !results.has(reference) ? [] : [
  '',
  `| paired with ${reference} in each round (median of ${runs} ratios, 95% interval) | decode | prefill | time to first token |`,
  '|---|---:|---:|---:|',
  ...paths
    .filter((p) => results.has(p) && p !== reference)
    .map((p) => `| ${p} | ${(['decodeTokensPerSecond', 'prefillTokensPerSecond', 'timeToFirstTokenMs'] as const).map((key) => pairedCell(p, reference, key)).join(' | ')} |`),
];
/** The server's decode against `onboard run`'s, when both ran. */
const versus = (label: string, path: Path, reference: Path) =>
  results.has(path) && results.has(reference)
    ? ['', `${label} decode vs onboard run: ${ratio(med(path, 'decodeTokensPerSecond'), med(reference, 'decodeTokensPerSecond'))} (paired: ${pairedCell(path, reference, 'decodeTokensPerSecond')})`]
    : [];
const lines = [
  `CPU: ${host.cpu.model} (${host.cpu.logicalCores} logical cores; ${host.cpu.features.join(' ')}), ${threads} threads, node ${process.version}`,
  ...table('llama.cpp, GGUF', 'raw', ['raw', 'raw-1-thread', 'library', 'run', 'serve-first', 'serve-fifth']),
  ...pairedTable('raw', ['raw-1-thread', 'library', 'run', 'serve-first', 'serve-fifth']),
  ...versus('serve (fifth request)', 'serve-fifth', 'run'),
  ...(executorch
    ? [
        ...table('ExecuTorch, .pte', 'et-runner', ['et-runner', 'et-engine', 'et-run', 'et-serve-first', 'et-serve-fifth']),
        ...pairedTable('et-runner', ['et-engine', 'et-run', 'et-serve-first', 'et-serve-fifth']),
        ...versus('ExecuTorch serve (fifth request)', 'et-serve-fifth', 'et-run'),
      ]
    : []),
];
process.stdout.write(`\n${lines.join('\n')}\n`);
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/speed.json', `${JSON.stringify({ cpu: host.cpu, threads, settings: { ...settings, promptTokens: promptTokens.length }, results: Object.fromEntries(results) }, null, 2)}\n`);
