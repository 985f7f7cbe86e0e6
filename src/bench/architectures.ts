// `npm run bench:architectures`: every SYNTHETIC export in the cache (the per-architecture test
// models, and the full-size Llama-3.2-1B-shaped one `npm run bench:llama-1b:prepare` makes) through
// `onboard run`, each in a fresh process: load time, time to first token, prefill and decode tok/s
// and the peak resident memory of the process tree (the engine's host included). Random weights:
// the tokens are meaningless, only their speed is measured. Medians of three runs.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { configFromEnv, createApp } from '../app/composition.js';
import { BENCH_PROMPT, median, type RunResult } from './measure.js';
import { watchTreeMemory } from './tree-memory.js';

const MiB = 2 ** 20;
const RUNS = 3;
const MAX_TOKENS = 64;
const CLI = join(import.meta.dirname, '../entry/cli/main.js');

/** `onboard run --json`'s stats, and the process tree's peak resident memory. */
type Run = RunResult & { modelLoadMs: number; peakTreeBytes: number };

async function runOnce(model: string): Promise<Run> {
  const child = spawn(process.execPath, [CLI, 'run', '--model', model, '--json', '--offline', '--temperature', '0', '--max-tokens', String(MAX_TOKENS), BENCH_PROMPT], { stdio: ['ignore', 'pipe', 'pipe'] });
  const watch = watchTreeMemory(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const peakTreeBytes = watch.stop();
  if (code !== 0) throw new Error(`onboard run --model ${model} exited ${code}: ${stderr.slice(-500)}`);
  return { ...(JSON.parse(stdout) as { stats: RunResult & { modelLoadMs: number } }).stats, peakTreeBytes };
}

const config = configFromEnv();
const app = createApp(config);
const exports = (await app.models.list()).installed.filter((m) => m.manifest.id.startsWith('synthetic-'));
// GGUFs of synthetic checkpoints (llama.cpp's converter writes them there; they are not catalog models).
const ggufDir = join(config.cacheDir, 'synthetic');
const ggufs = (await readdir(ggufDir).catch(() => [] as string[])).filter((name) => name.endsWith('.gguf')).sort();
const models = [
  ...exports.map(({ manifest, path }) => ({ id: manifest.id, path, format: `.pte ${manifest.quantization}`, sizeBytes: manifest.sizeBytes })),
  ...(await Promise.all(ggufs.map(async (name) => ({ id: name.replace(/\.gguf$/, ''), path: join(ggufDir, name), format: 'GGUF', sizeBytes: (await stat(join(ggufDir, name))).size })))),
];
if (models.length === 0) {
  console.log('No synthetic exports in the cache: run `node scripts/run-tests.mjs architectures` (the test models) or `npm run bench:llama-1b:prepare`.');
  process.exit(0);
}

console.log(`CPU: ${cpus()[0]?.model} x ${cpus().length}; ${RUNS} runs each, medians; prompt "${BENCH_PROMPT}", up to ${MAX_TOKENS} tokens, greedy`);
console.log('| model (synthetic) | format | size MiB | load ms | TTFT ms | prefill tok/s | decode tok/s | decoded | peak RSS MiB |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const { id, path, format, sizeBytes } of models) {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(path));
  const m = (pick: (s: Run) => number) => median(runs.map(pick));
  console.log(
    `| ${id} | ${format} | ${(sizeBytes / MiB).toFixed(1)} | ${m((s) => s.modelLoadMs).toFixed(0)} | ${m((s) => s.timeToFirstTokenMs).toFixed(0)} | ` +
      `${m((s) => s.prefillTokensPerSecond).toFixed(1)} | ${m((s) => s.decodeTokensPerSecond).toFixed(1)} | ${m((s) => s.decodeTokens)} | ${(m((s) => s.peakTreeBytes) / MiB).toFixed(0)} |`,
  );
}
