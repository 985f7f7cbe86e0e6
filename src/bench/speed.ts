// `npm run bench:speed`: one speed everywhere. The same prompt ids and greedy settings through
// raw node-llama-cpp, the library's ChatSession, `onboard run` and `onboard serve` (streaming,
// measured at the client, the first request and the fifth), each in a fresh process, rotating
// the order, with every onboard path's ratio to raw. The machine's CPU is printed with it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hostInfo } from '../adapters/system/host-info.js';
import { createApp, DEFAULT_CONTEXT_SIZE } from '../composition.js';
import { tokenizeConversation } from '../core/context-window.js';
import { BENCH_PROMPT, median, type BenchSettings, type RunResult } from './measure.js';
import { sseEvents, startServeProcess } from './serve-process.js';

const run = promisify(execFile);
const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const cli = fileURLToPath(new URL('../entry/cli/main.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const maxTokens = 128;
/** Greedy and no repetition penalty: what the raw reference does. */
const GREEDY_FLAGS = ['--temperature', '0', '--repeat-penalty', '1'];

type Path = 'raw' | 'library' | 'run' | 'serve-first' | 'serve-fifth';
const PATHS: Path[] = ['raw', 'library', 'run', 'serve-first', 'serve-fifth'];

const app = createApp();
const modelPath = (await app.resolver.resolve()).path;
const host = await hostInfo();
// onboard's own default: the physical cores (node-llama-cpp's cpuMathCores).
const probe = await app.openRunner({ model: modelPath, contextSize: 256, backend: 'cpu' });
const promptTokens = tokenizeConversation(probe.model, probe.template, [{ role: 'user', content: BENCH_PROMPT }]);
await probe.close();
const threads = Number(process.env.BENCH_THREADS) || (await import('node-llama-cpp').then(async (m) => (await m.getLlama({ gpu: false, build: 'never' })).cpuMathCores));
const settings: BenchSettings = { modelPath, threads, contextSize: DEFAULT_CONTEXT_SIZE, maxTokens, prompt: BENCH_PROMPT, promptTokens };

async function viaWorker(kind: 'raw' | 'onboard'): Promise<RunResult> {
  const { stdout } = await run(process.execPath, [worker, kind, JSON.stringify(settings)], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult;
}

async function viaRun(): Promise<RunResult> {
  const { stdout } = await run(process.execPath, [cli, 'run', '--json', '--backend', 'cpu', '--threads', String(threads), '--max-tokens', String(maxTokens), ...GREEDY_FLAGS, BENCH_PROMPT], { maxBuffer: 1 << 22 });
  const { stats } = JSON.parse(stdout) as { stats: { modelLoadMs: number; timeToFirstTokenMs: number; promptTokens: number; prefillTokensPerSecond: number; decodeTokens: number; decodeTokensPerSecond: number; peakRssBytes: number } };
  return { loadMs: stats.modelLoadMs, timeToFirstTokenMs: stats.timeToFirstTokenMs, promptTokens: stats.promptTokens, prefillTokensPerSecond: stats.prefillTokensPerSecond, decodeTokens: stats.decodeTokens, decodeTokensPerSecond: stats.decodeTokensPerSecond, peakRssBytes: stats.peakRssBytes };
}

/** One streaming request, timed at the client: first content byte and last content byte. */
async function streamOnce(url: string): Promise<RunResult> {
  const sent = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: BENCH_PROMPT }], temperature: 0, repeat_penalty: 1, max_tokens: maxTokens, stream: true }),
  });
  let first = 0;
  let last = 0;
  let stats: { decodeTokens: number; promptTokens: number; prefillTokens: number; peakRssBytes: number; modelLoadMs: number } | undefined;
  for await (const { data } of sseEvents(response)) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string } }>; onboard?: typeof stats };
    if (chunk.onboard) stats = chunk.onboard;
    if (chunk.choices[0]?.delta.content) {
      last = performance.now();
      first ||= last;
    }
  }
  if (!stats) throw new Error('the stream ended without stats');
  const ttft = first - sent;
  return {
    loadMs: stats.modelLoadMs,
    timeToFirstTokenMs: ttft,
    promptTokens: stats.promptTokens,
    // A later request reuses the KV cache of the same prompt: only what it prefilled counts.
    prefillTokensPerSecond: stats.prefillTokens / (ttft / 1000),
    decodeTokens: stats.decodeTokens,
    // As everywhere: the tokens after the first, over the time from the first to the last.
    decodeTokensPerSecond: stats.decodeTokens > 1 ? (stats.decodeTokens - 1) / ((last - first) / 1000) : 0,
    peakRssBytes: stats.peakRssBytes,
  };
}

/** A fresh `onboard serve` with its defaults: five requests in a row; the first and the fifth are kept. */
async function viaServe(): Promise<[RunResult, RunResult]> {
  const dir = await mkdtemp(join(tmpdir(), 'onboard-bench-'));
  const server = await startServeProcess(['--backend', 'cpu', '--threads', String(threads), '--db', join(dir, 'bench.db')]);
  try {
    const results: RunResult[] = [];
    for (let i = 0; i < 5; i++) results.push(await streamOnce(server.url));
    return [results[0]!, results[4]!];
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

process.stderr.write(`cpu ${host.cpu.model}, ${host.cpu.logicalCores} logical cores, ${host.cpu.features.join(' ')}\n`);
process.stderr.write(`threads ${threads}, context ${settings.contextSize}, prompt ${promptTokens.length} tokens, up to ${maxTokens} answer tokens, greedy, ${runs} rounds, order rotating\n`);
const results = Object.fromEntries(PATHS.map((p) => [p, [] as RunResult[]])) as Record<Path, RunResult[]>;
const runners: Array<[string, () => Promise<Array<[Path, RunResult]>>]> = [
  ['raw', async () => [['raw', await viaWorker('raw')]]],
  ['library', async () => [['library', await viaWorker('onboard')]]],
  ['run', async () => [['run', await viaRun()]]],
  ['serve', async () => (await viaServe()).map((r, i) => [i === 0 ? 'serve-first' : 'serve-fifth', r] as [Path, RunResult])],
];
for (let round = 0; round < runs; round++) {
  for (let k = 0; k < runners.length; k++) {
    const [name, measure] = runners[(round + k) % runners.length]!;
    for (const [path, result] of await measure()) {
      results[path].push(result);
      process.stderr.write(`  round ${round + 1} ${path.padEnd(12)} decode ${result.decodeTokensPerSecond.toFixed(1)} tok/s, prefill ${result.prefillTokensPerSecond.toFixed(0)} tok/s, ttft ${result.timeToFirstTokenMs.toFixed(1)} ms (${name})\n`);
    }
  }
}

const med = (path: Path, key: keyof RunResult) => median(results[path].map((r) => Number(r[key])));
const row = (path: Path) => {
  const decode = med(path, 'decodeTokensPerSecond');
  const prefill = med(path, 'prefillTokensPerSecond');
  const ttft = med(path, 'timeToFirstTokenMs');
  const ratio = (a: number, b: number) => `${(a / b).toFixed(3)}x`;
  return `| ${path} | ${decode.toFixed(1)} | ${ratio(decode, med('raw', 'decodeTokensPerSecond'))} | ${prefill.toFixed(0)} | ${ratio(prefill, med('raw', 'prefillTokensPerSecond'))} | ${ttft.toFixed(1)} | ${ratio(ttft, med('raw', 'timeToFirstTokenMs'))} |`;
};
const lines = [
  `CPU: ${host.cpu.model} (${host.cpu.logicalCores} logical cores; ${host.cpu.features.join(' ')}), ${threads} threads, node ${process.version}`,
  '',
  `| path (median of ${runs}) | decode tok/s | vs raw | prefill tok/s | vs raw | time to first token (ms) | vs raw |`,
  '|---|---:|---:|---:|---:|---:|---:|',
  ...PATHS.map(row),
  '',
  `serve (fifth request) decode vs onboard run: ${(med('serve-fifth', 'decodeTokensPerSecond') / med('run', 'decodeTokensPerSecond')).toFixed(3)}x`,
];
process.stdout.write(`\n${lines.join('\n')}\n`);
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/speed.json', `${JSON.stringify({ cpu: host.cpu, threads, settings: { ...settings, promptTokens: promptTokens.length }, results }, null, 2)}\n`);
