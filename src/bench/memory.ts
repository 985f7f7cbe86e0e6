// `npm run bench:memory`: the memory estimate behind --memory-budget against the measured peak
// resident memory of `onboard serve`'s process tree (the ExecuTorch host included), for several
// contexts (llama.cpp) and sequence counts (ExecuTorch), each in a fresh process.
import { cpus } from 'node:os';
import { configFromEnv, createApp } from '../app/composition.js';
import { startServeProcess } from './serve-process.js';
import { watchTreeMemory } from './tree-memory.js';

const MiB = 2 ** 20;
const PTE = 'smollm2-135m-xnnpack-8da8w';
// The ExecuTorch rows need the export (`onboard export -c configs/smollm2-135m-xnnpack-8da8w.yaml`).
const exported = Boolean(await createApp(configFromEnv()).cache.find(PTE));
const cases = [
  ...[512, 2048, 8192].map((ctx) => ({ engine: 'llama.cpp', setting: `ctx ${ctx}`, args: ['--ctx', String(ctx), '--backend', 'cpu'] })),
  ...(exported ? [1, 2, 4].map((n) => ({ engine: 'ExecuTorch', setting: `${n} sequence${n > 1 ? 's' : ''}`, args: ['-m', PTE, '--parallel', String(n)] })) : []),
];
if (!exported) console.log(`(ExecuTorch rows skipped: ${PTE} is not exported)`);

console.log(`CPU: ${cpus()[0]?.model} x ${cpus().length}; model: SmolLM2-135M (Q4_1 GGUF; 8da8w .pte)`);
console.log('| engine | setting | estimate MiB | measured peak MiB | estimate / peak |');
console.log('|---|---|---:|---:|---:|');
for (const c of cases) {
  let watch: ReturnType<typeof watchTreeMemory> | undefined;
  // A budget far above the need: the fit is computed and reported, nothing is shrunk.
  const server = await startServeProcess([...c.args, '--offline', '--memory-budget', '64G'], (pid) => (watch = watchTreeMemory(pid)));
  const health = (await (await fetch(`${server.url}/health`)).json()) as { memory?: { estimateBytes: number } };
  const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Name three colours.' }], max_tokens: 32 }) });
  await response.text();
  const peak = watch!.stop();
  await server.stop();
  const estimate = health.memory?.estimateBytes ?? NaN;
  console.log(`| ${c.engine} | ${c.setting} | ${Math.round(estimate / MiB)} | ${Math.round(peak / MiB)} | ${(estimate / peak).toFixed(2)} |`);
}
