// One engine run in a fresh process, on given prompt token ids, greedy, for `npm run bench:executorch`.
// Usage: node dist/bench/engine-worker.js <native|python|llamacpp> <model path> <ids json> <max tokens> <threads>
// (native and python: the ExecuTorch engine on that runtime)
import { readFileSync } from 'node:fs';
import { ExecuTorchEngine } from '../adapters/executorch/engine.js';
import { LlamaCppEngine } from '../adapters/llamacpp/engine.js';
import { availableMemoryBytes } from '../adapters/system/process-memory.js';
import type { LoadedModel } from '../core/engine.js';
import { resolveSampling } from '../core/sampling.js';
import { peakRssBytes, type RunResult } from './measure.js';

const [kind, modelPath, idsJson, maxTokensArg, threadsArg] = process.argv.slice(2);
const prompt = JSON.parse(idsJson!) as number[];
const maxTokens = Number(maxTokensArg);

const engine = kind === 'native' || kind === 'python' ? new ExecuTorchEngine({ runtime: kind }) : new LlamaCppEngine({ availableMemoryBytes });
const model: LoadedModel & { hostPid?: number } = await engine.load({ modelPath: modelPath!, contextSize: 512, threads: Number(threadsArg), target: 'cpu' });
const sequence = model.createSequence();
const started = performance.now();
const generation = await sequence.begin(prompt, resolveSampling({ temperature: 0, repeatPenalty: 1 }));
let first = 0;
let last = 0;
let count = 0;
while (count < maxTokens) {
  const next = await generation.tokens.next();
  if (next.done) break;
  last = performance.now();
  if (count === 0) first = last;
  count++;
}
const ttft = first - started;
// The ExecuTorch runtime runs in the host process: its peak memory counts too.
const hostRss = model.hostPid ? Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${model.hostPid}/status`, 'utf8'))?.[1] ?? 0) * 1024 : 0;
const result: RunResult = {
  loadMs: model.loadMs,
  timeToFirstTokenMs: ttft,
  promptTokens: prompt.length,
  prefillTokensPerSecond: prompt.length / (ttft / 1000),
  decodeTokens: count,
  decodeTokensPerSecond: (count - 1) / ((last - first) / 1000),
  peakRssBytes: peakRssBytes() + hostRss,
  ...(hostRss ? { hostPeakRssBytes: hostRss } : {}),
};
await model.unload();
process.stdout.write(`${JSON.stringify(result)}\n`);
