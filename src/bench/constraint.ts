// `npm run bench:constraint`: what a JSON-schema constraint costs. On each
// engine (llama.cpp on the default model, the native ExecuTorch engine on its
// default 8da8w export), the same prompt is answered with and without a
// schema, alternating, in one process per engine, greedy and sampled; decode
// tok/s medians and their ratio. The schema asks for a long answer (eight bounded strings), so
// both answers run about as many tokens.
import { cpus } from 'node:os';
import { createApp } from '../app/composition.js';
import type { OutputConstraint } from '../core/output-constraint.js';
import type { ModelRunner } from '../core/model-runner.js';
import type { SamplingInput } from '../core/sampling.js';
import type { GenerationStats } from '../core/types.js';
import { median } from './measure.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const PTE_ID = 'smollm2-135m-xnnpack-8da8w';
const PROMPT = 'List eight things to check on a car before a long drive.';
const MAX_TOKENS = 128;
const constraint: OutputConstraint = {
  kind: 'json-schema',
  schema: { type: 'object', properties: { checks: { type: 'array', items: { type: 'string', maxLength: 40 }, minItems: 8, maxItems: 8 } }, required: ['checks'] },
};

async function answer(runner: ModelRunner, constrained: boolean, sampling: SamplingInput): Promise<GenerationStats> {
  const options = { sampling, maxTokens: MAX_TOKENS, ...(constrained ? { constraint } : {}) };
  for await (const chunk of runner.chat([{ role: 'user', content: PROMPT }], options)) if (chunk.type === 'done') return chunk.stats;
  throw new Error('no answer');
}

const app = createApp();
const pte = await app.cache.find(PTE_ID);
const models: Array<[string, string | undefined]> = [['llama.cpp Q4_1', undefined]];
if (pte) models.push([`ExecuTorch native ${PTE_ID}`, pte.path]);
else process.stderr.write(`${PTE_ID} is not in the cache (onboard export -c configs/${PTE_ID}.yaml): the ExecuTorch row is left out\n`);

process.stdout.write(`CPU: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} logical); ${runs} runs each, alternating, up to ${MAX_TOKENS} tokens\n\n`);
process.stdout.write('| engine | sampling | decode tok/s, free | decode tok/s, JSON schema | ratio | tokens free / schema |\n|---|---|---:|---:|---:|---:|\n');
// Greedy, and sampled at the default temperature with a fixed seed per run (the grammar's mask is computed on every sampled token).
const samplings: Array<[string, (run: number) => SamplingInput]> = [
  ['greedy', () => ({ temperature: 0 })],
  ['temperature 0.7', (run) => ({ temperature: 0.7, seed: run + 1 })],
];
for (const [label, model] of models) {
  const runner = await app.openRunner({ ...(model ? { model } : {}), backend: 'cpu', contextSize: 512 });
  await answer(runner, true, { temperature: 0 }); // compiles the grammar once, as a server does on a schema's first request
  for (const [samplingLabel, sampling] of samplings) {
    const free: GenerationStats[] = [];
    const held: GenerationStats[] = [];
    for (let i = 0; i < runs; i++) {
      for (const constrained of i % 2 === 0 ? [false, true] : [true, false]) {
        await runner.clearCaches(); // every answer prefills the same prompt
        (constrained ? held : free).push(await answer(runner, constrained, sampling(i)));
      }
    }
    const freeRate = median(free.map((s) => s.decodeTokensPerSecond));
    const heldRate = median(held.map((s) => s.decodeTokensPerSecond));
    const tokens = `${median(free.map((s) => s.decodeTokens))} / ${median(held.map((s) => s.decodeTokens))}`;
    process.stdout.write(`| ${label} | ${samplingLabel} | ${freeRate.toFixed(1)} | ${heldRate.toFixed(1)} | ${(heldRate / freeRate).toFixed(3)}x | ${tokens} |\n`);
  }
  await runner.close();
}
