// `npm run bench:parity`: teacher-forced top-1 agreement per position, on one fixed text, between
// the fp32 and 8da8w .pte (and 8da4w when exported) (ExecuTorch's Python runtime and onboard's native one), llama.cpp on the Q4_1 GGUF, and transformers on
// the same GGUF weights dequantized. Needs both exports in the cache (configs/smollm2-135m-*.yaml).
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { PYTHON_DIR, pythonEnv, requireToolchain } from '../adapters/executorch/toolchain.js';
import { createApp } from '../app/composition.js';
import { nativeTop1 } from './native-top1.js';

const run = promisify(execFile);
const app = createApp();
const gguf = (await app.resolver.resolve()).path;
const toolchain = await requireToolchain();

async function pteTop1(id: string): Promise<{ ids: number[]; pte: number[]; native: number[]; transformers: number[] }> {
  const installed = await app.cache.find(id);
  if (!installed) throw new Error(`${id} is not in the cache: run \`onboard export -c configs/${id}.yaml\` first`);
  const { stdout } = await run(toolchain.python, ['-m', 'onboard_executorch.parity', '--top1', installed.path, join(installed.path, '..', 'tokenizer.json'), gguf], { cwd: PYTHON_DIR, env: pythonEnv(), maxBuffer: 1 << 24 });
  const python = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ids: number[]; pte: number[]; transformers: number[] };
  return { ...python, native: await nativeTop1(installed.path, python.ids) };
}

/** llama.cpp's greedy next token after each position, in one evaluation. */
async function llamaCppTop1(ids: number[]): Promise<number[]> {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, sequences: 1 });
  const results = await context.getSequence().controlledEvaluate(ids.map((id) => [id as Token, { generateNext: { token: true, options: { temperature: 0 } } }]));
  const top1 = results.map((r) => Number(r?.next?.token ?? -1));
  await model.dispose();
  return top1;
}

const agreement = (a: number[], b: number[]) => a.filter((t, i) => t === b[i]).length / a.length;
const fp32 = await pteTop1('smollm2-135m-xnnpack-fp32');
const q = await pteTop1('smollm2-135m-xnnpack-8da8w');
const cpp = await llamaCppTop1(q.ids);
const rows: Array<[string, number]> = [
  ['ExecuTorch fp32 .pte vs transformers (same weights), Python runtime', agreement(fp32.pte, fp32.transformers)],
  ['ExecuTorch fp32 .pte vs transformers (same weights), native runtime', agreement(fp32.native, fp32.transformers)],
  ['ExecuTorch 8da8w .pte (the default CPU export) vs transformers, Python runtime', agreement(q.pte, q.transformers)],
  ['ExecuTorch 8da8w .pte vs transformers, native runtime', agreement(q.native, q.transformers)],
  ['ExecuTorch 8da8w .pte, native vs Python runtime', agreement(q.native, q.pte)],
  ['llama.cpp Q4_1 GGUF vs transformers', agreement(cpp, q.transformers)],
  ['ExecuTorch 8da8w vs llama.cpp Q4_1 (the two engines on the default model)', agreement(q.pte, cpp)],
];
// The smaller 8da4w export, when it is in the cache (onboard export -c configs/smollm2-135m-xnnpack-8da4w.yaml).
if (await app.cache.find('smollm2-135m-xnnpack-8da4w')) {
  const small = await pteTop1('smollm2-135m-xnnpack-8da4w');
  rows.push(['ExecuTorch 8da4w .pte vs transformers, native runtime', agreement(small.native, small.transformers)]);
}
process.stdout.write(`teacher-forced top-1 agreement over ${q.ids.length} positions (npm run bench:parity)\n| pair | agreement |\n|---|---:|\n`);
for (const [pair, value] of rows) process.stdout.write(`| ${pair} | ${(value * 100).toFixed(1)}% |\n`);
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/parity.json', `${JSON.stringify({ positions: q.ids.length, rows: Object.fromEntries(rows) }, null, 2)}\n`);
