// `npm run bench:vehicle`: the vehicle profile's costs and gains, each side by side in one run:
//  1. load time of an encrypted model against the plain one (llama.cpp GGUF, ExecuTorch .pte);
//  2. time to first token of the first request against the second, with and without warm start
//     (a fresh `onboard serve` per run, measured at the client);
//  3. time to first token over two 20-turn conversations that take turns on one sequence (so each
//     request finds the other's history in the cache), with and without --ttft-budget;
//  4. decode speed and CPU load below and above a passive trip point (thermal throttling).
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configFromEnv, createApp } from '../app/composition.js';
import { startServeProcess } from './serve-process.js';

const RUNS = Number(process.env.VEHICLE_RUNS ?? 3);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

console.log(`CPU: ${cpus()[0]?.model} x ${cpus().length}; ${RUNS} runs each; model: SmolLM2-135M`);

async function encryptedLoad(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'onboard-bench-vehicle-'));
  try {
    const keyFile = join(work, 'key');
    await writeFile(keyFile, randomBytes(32).toString('hex'));
    const env = { ...process.env, ONBOARD_CACHE_DIR: join(work, 'cache'), ONBOARD_MODEL_KEY_FILE: keyFile, ONBOARD_OFFLINE: '1' };
    const plainApp = createApp(configFromEnv({}, { ...process.env, ONBOARD_OFFLINE: '1' }));
    const sealedApp = createApp(configFromEnv({}, env));
    console.log('\n| engine | plain load ms (median) | encrypted load ms (median) | ratio |');
    console.log('|---|---:|---:|---:|');
    for (const id of ['smollm2-135m-instruct-q4_1', 'smollm2-135m-xnnpack-8da8w']) {
      const installed = await plainApp.cache.find(id);
      if (!installed) {
        console.log(`| ${id} | not installed | | |`);
        continue;
      }
      await cp(dirname(installed.path), join(work, 'cache', 'models', id), { recursive: true });
      await sealedApp.models.encrypt(id);
      const plain: number[] = [];
      const sealed: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        for (const [app, times] of [[plainApp, plain], [sealedApp, sealed]] as const) {
          const started = performance.now();
          const runner = await app.openRunner({ model: id, backend: 'cpu' });
          times.push(performance.now() - started);
          await runner.close();
        }
      }
      const engine = (await readdir(join(work, 'cache', 'models', id))).some((f) => f.endsWith('.pte.sealed')) ? 'ExecuTorch' : 'llama.cpp';
      console.log(`| ${engine} (${id}) | ${median(plain).toFixed(0)} | ${median(sealed).toFixed(0)} | ${(median(sealed) / median(plain)).toFixed(2)}x |`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Time to the first streamed content at the client, ms. */
async function ttftOf(url: string, messages: Array<{ role: string; content: string }>): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages, max_tokens: 8, temperature: 0, stream: true }) });
  let first: number | undefined;
  const decoder = new TextDecoder();
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    if (first === undefined && /"content":"[^"]/.test(decoder.decode(bytes, { stream: true }))) first = performance.now() - started;
  }
  return first ?? performance.now() - started;
}

async function warmStart(): Promise<void> {
  console.log('\n| server | first request TTFT ms (median) | second request TTFT ms (median) | first / second |');
  console.log('|---|---:|---:|---:|');
  for (const [label, flags] of [['warm start (default)', []], ['--no-warm-start', ['--no-warm-start']]] as const) {
    const first: number[] = [];
    const second: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const server = await startServeProcess(['--offline', '--backend', 'cpu', ...flags]);
      // The two questions take turns being first, so their own lengths cancel out.
      const questions = ['What is the tyre pressure for a family car?', 'How far is the nearest charging station?'];
      if (run % 2) questions.reverse();
      first.push(await ttftOf(server.url, [{ role: 'user', content: questions[0]! }]));
      second.push(await ttftOf(server.url, [{ role: 'user', content: questions[1]! }]));
      await server.stop();
    }
    console.log(`| ${label} | ${median(first).toFixed(0)} | ${median(second).toFixed(0)} | ${(median(first) / median(second)).toFixed(2)} |`);
  }
}

async function ttftBudget(): Promise<void> {
  const budgetMs = Number(process.env.VEHICLE_TTFT_BUDGET_MS ?? 250);
  console.log(`\nTwo 20-turn conversations taking turns on one sequence (each request's history is not in the cache):`);
  console.log('| server | TTFT p50 ms | p90 ms | max ms | messages dropped (total) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, flags] of [['no budget', []], [`--ttft-budget ${budgetMs}`, ['--ttft-budget', String(budgetMs)]]] as const) {
    const server = await startServeProcess(['--offline', '--backend', 'cpu', '--parallel', '1', ...flags]);
    const histories: Array<Array<{ role: string; content: string }>> = [[], []];
    const ttfts: number[] = [];
    let dropped = 0;
    for (let turn = 0; turn < 20; turn++) {
      for (const [index, history] of histories.entries()) {
        history.push({ role: 'user', content: `Conversation ${index}, turn ${turn}: note that stop ${turn} is at kilometre ${turn * 7 + index}. What should I remember?` });
        ttfts.push(await ttftOf(server.url, history));
        const whole = (await (await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: history, max_tokens: 24, temperature: 0 }) })).json()) as { choices: Array<{ message: { content: string } }>; onboard: { droppedMessages: number } };
        dropped += whole.onboard.droppedMessages;
        history.push({ role: 'assistant', content: whole.choices[0]!.message.content });
      }
    }
    await server.stop();
    console.log(`| ${label} | ${percentile(ttfts, 50).toFixed(0)} | ${percentile(ttfts, 90).toFixed(0)} | ${Math.max(...ttfts).toFixed(0)} | ${dropped} |`);
  }
}

/**
 * Throttling: the same greedy answers with the thermal fixture below its passive trip
 * point and above it, in one process (llama.cpp runs in it, so its CPU time counts):
 * decode speed, and CPU time per second of decoding (how hard the cores work).
 */
async function thermalThrottle(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'onboard-bench-thermal-'));
  try {
    await cp(fileURLToPath(new URL('../../test/fixtures/thermal', import.meta.url)), root, { recursive: true });
    const app = createApp(configFromEnv({ thermalRoot: root }, { ...process.env, ONBOARD_OFFLINE: '1' }));
    console.log('\n| how | decode tok/s (median) | CPU time per second of decoding | tokens per CPU second |');
    console.log('|---|---:|---:|---:|');
    // The pause onboard uses, against what the other way, fewer threads, would give (it needs a reload).
    const rows = [
      { label: 'normal (45 °C), default threads', temp: 45_000, threads: undefined },
      { label: 'throttled (85 °C): a pause after each token', temp: 85_000, threads: undefined },
      { label: 'normal (45 °C), 1 thread (the alternative)', temp: 45_000, threads: 1 },
    ];
    for (const row of rows) {
      await writeFile(join(root, 'thermal_zone0', 'temp'), String(row.temp));
      await new Promise((r) => setTimeout(r, 1200)); // the monitor reads every second
      const runner = await app.openRunner({ backend: 'cpu', ...(row.threads ? { threads: row.threads } : {}) });
      const speeds: number[] = [];
      const loads: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        let firstAt = 0;
        let cpuAtFirst = process.cpuUsage();
        for await (const chunk of runner.chat([{ role: 'user', content: 'Describe a drive along the coast.' }], { maxTokens: 64, sampling: { temperature: 0 } })) {
          if (chunk.type === 'text' && firstAt === 0) {
            firstAt = performance.now();
            cpuAtFirst = process.cpuUsage();
          }
          if (chunk.type === 'done') {
            const cpu = process.cpuUsage(cpuAtFirst);
            speeds.push(chunk.stats.decodeTokensPerSecond);
            loads.push((cpu.user + cpu.system) / 1000 / (performance.now() - firstAt));
          }
        }
      }
      await runner.close();
      console.log(`| ${row.label} | ${median(speeds).toFixed(1)} | ${median(loads).toFixed(2)} s | ${(median(speeds) / median(loads)).toFixed(1)} |`);
    }
    app.thermal().stop();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

// VEHICLE_PARTS=encryption,warm,budget,thermal (the default: all four) runs some of them.
const parts = new Set((process.env.VEHICLE_PARTS ?? 'encryption,warm,budget,thermal').split(','));
if (parts.has('encryption')) await encryptedLoad();
if (parts.has('warm')) await warmStart();
if (parts.has('budget')) await ttftBudget();
if (parts.has('thermal')) await thermalThrottle();
