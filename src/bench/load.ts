// `npm run bench:load`: N concurrent streaming clients against `onboard serve` on loopback.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServeProcess } from './serve-process.js';

const levels = (process.env.LOAD_CLIENTS ?? '1,4,16').split(',').map(Number);
const requestsPerClient = Number(process.env.LOAD_REQUESTS_PER_CLIENT ?? 2);
const maxTokens = Number(process.env.LOAD_MAX_TOKENS ?? 64);
const parallel = process.env.LOAD_PARALLEL ?? '1';
const queue = process.env.LOAD_QUEUE ?? '16';

interface RequestResult {
  status: number;
  ttftMs?: number;
  tokens: number;
}

async function streamOne(url: string, n: number): Promise<RequestResult> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: `Tell me fact number ${n} about the ocean.` }], max_tokens: maxTokens, temperature: 0.7, stream: true, stream_options: { include_usage: true } }),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status, tokens: 0 };
  }
  let ttftMs: number | undefined;
  let tokens = 0;
  const decoder = new TextDecoder();
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(bytes, { stream: true });
    if (ttftMs === undefined && text.includes('"content":"') && !text.includes('"content":""')) ttftMs = performance.now() - started;
    const usage = /"completion_tokens":(\d+)/.exec(text);
    if (usage) tokens = Number(usage[1]);
  }
  return { status: 200, ...(ttftMs !== undefined ? { ttftMs } : {}), tokens };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const dir = await mkdtemp(join(tmpdir(), 'onboard-load-'));
const server = await startServeProcess(['--backend', 'cpu', '--parallel', parallel, '--queue', queue, '--db', join(dir, 'load.db')]);
const rows = [];
try {
  await streamOne(server.url, 0); // warm-up, not counted
  for (const clients of levels) {
    const started = performance.now();
    const results = (
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          const mine: RequestResult[] = [];
          for (let r = 0; r < requestsPerClient; r++) mine.push(await streamOne(server.url, c * 100 + r));
          return mine;
        }),
      )
    ).flat();
    const seconds = (performance.now() - started) / 1000;
    const ok = results.filter((r) => r.status === 200);
    const ttfts = ok.map((r) => r.ttftMs ?? NaN).filter(Number.isFinite);
    const errors: Record<string, number> = {};
    for (const r of results.filter((r) => r.status !== 200)) errors[r.status] = (errors[r.status] ?? 0) + 1;
    const row = { clients, requests: results.length, ok: ok.length, errors, totalTokens: ok.reduce((n, r) => n + r.tokens, 0), seconds, tokensPerSecond: ok.reduce((n, r) => n + r.tokens, 0) / seconds, ttftP50Ms: percentile(ttfts, 50), ttftP95Ms: percentile(ttfts, 95) };
    rows.push(row);
    process.stderr.write(`  ${clients} clients: ${row.tokensPerSecond.toFixed(1)} tok/s total, ttft p50 ${row.ttftP50Ms.toFixed(0)} ms p95 ${row.ttftP95Ms.toFixed(0)} ms, errors ${JSON.stringify(errors)}\n`);
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

const lines = [
  `| clients | requests | total tok/s | ttft p50 (ms) | ttft p95 (ms) | errors |`,
  '|---:|---:|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.clients} | ${r.requests} | ${r.tokensPerSecond.toFixed(1)} | ${r.ttftP50Ms.toFixed(0)} | ${r.ttftP95Ms.toFixed(0)} | ${Object.keys(r.errors).length ? JSON.stringify(r.errors) : 'none'} |`),
];
process.stdout.write(`\nserver: --parallel ${parallel} --queue ${queue}; ${requestsPerClient} streaming requests per client, up to ${maxTokens} tokens each\n${lines.join('\n')}\n`);
await mkdir('bench-results', { recursive: true });
const file = `bench-results/load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(file, `${JSON.stringify({ parallel, queue, requestsPerClient, maxTokens, rows }, null, 2)}\n`);
process.stdout.write(`raw results: ${file}\n`);
