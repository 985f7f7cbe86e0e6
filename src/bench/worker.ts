// One benchmark run in a fresh process, so load time and peak RSS belong to it alone.
// Usage: node dist/bench/worker.js <onboard|raw> '<settings json>'
import { performanceClock } from '../adapters/system/clock.js';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { LlamaCppEngine } from '../adapters/llamacpp/engine.js';
import { availableMemoryBytes, processMemoryProbe } from '../adapters/system/process-memory.js';
import { ChatSession } from '../core/chat-session.js';
import { ModelRunner } from '../core/model-runner.js';
import { FOLLOW_UPS, peakRssBytes, type BenchSettings, type RunResult } from './measure.js';

const greedy = { temperature: 0, repeatPenalty: 1 };

async function runOnboard(settings: BenchSettings, multiTurn: boolean): Promise<RunResult> {
  const engine = new LlamaCppEngine({ availableMemoryBytes });
  const model = await engine.load({ modelPath: settings.modelPath, contextSize: settings.contextSize, threads: settings.threads, target: 'cpu' });
  const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock });
  const session = new ChatSession(runner);
  const { stats } = await session.ask(settings.prompt, { sampling: greedy, maxTokens: settings.maxTokens });
  const result: RunResult = {
    loadMs: model.loadMs,
    timeToFirstTokenMs: stats.timeToFirstTokenMs,
    promptTokens: stats.promptTokens,
    prefillTokensPerSecond: stats.prefillTokensPerSecond,
    decodeTokens: stats.decodeTokens,
    decodeTokensPerSecond: stats.decodeTokensPerSecond,
    peakRssBytes: peakRssBytes(),
  };
  if (multiTurn) {
    for (const question of FOLLOW_UPS.slice(0, -1)) await session.ask(question, { sampling: greedy, maxTokens: 48 });
    const last = FOLLOW_UPS.at(-1)!;
    const reuse = await session.ask(last, { sampling: greedy, maxTokens: 1 });
    // The same eighth turn again, from an empty KV cache: what a runner without reuse pays.
    await runner.clearCaches();
    const fresh = new ChatSession(runner, { history: session.history.slice(0, -2) });
    const full = await fresh.ask(last, { sampling: greedy, maxTokens: 1 });
    result.multiTurn = {
      turn: FOLLOW_UPS.length + 1,
      promptTokens: reuse.stats.promptTokens,
      reuseTtftMs: reuse.stats.timeToFirstTokenMs,
      reusePrefillTokens: reuse.stats.prefillTokens,
      fullTtftMs: full.stats.timeToFirstTokenMs,
      fullPrefillTokens: full.stats.prefillTokens,
    };
  }
  await runner.close();
  return result;
}

/** The reference: node-llama-cpp used directly, on the same prompt tokens. */
async function runRaw(settings: BenchSettings): Promise<RunResult> {
  // Load time counts from nothing to a ready context, as onboard's does (runtime included).
  const started = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: settings.modelPath, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: settings.contextSize, threads: settings.threads, sequences: 1 });
  const loadMs = performance.now() - started;
  // The same prompt tokens onboard evaluates (its chat template, rendered by the parent).
  const prompt = settings.promptTokens;

  const sequence = context.getSequence();
  const begin = performance.now();
  let first = 0;
  let last = 0;
  let tokens = 0;
  for await (const token of sequence.evaluate(prompt as Token[], { temperature: 0 })) {
    const now = performance.now();
    if (tokens === 0) first = now;
    if (model.isEogToken(token)) break;
    model.detokenize([token]);
    last = now;
    if (++tokens >= settings.maxTokens) break;
  }
  const ttft = first - begin;
  const result: RunResult = {
    loadMs,
    timeToFirstTokenMs: ttft,
    promptTokens: prompt.length,
    prefillTokensPerSecond: prompt.length / (ttft / 1000),
    decodeTokens: tokens,
    decodeTokensPerSecond: tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : 0,
    peakRssBytes: peakRssBytes(),
  };
  await context.dispose();
  await model.dispose();
  return result;
}

const [kind, json, flag] = process.argv.slice(2);
const settings = JSON.parse(json ?? '{}') as BenchSettings;
const result = kind === 'raw' ? await runRaw(settings) : await runOnboard(settings, flag === '--multi-turn');
process.stdout.write(`${JSON.stringify(result)}\n`);
