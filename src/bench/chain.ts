// `npm run bench:chain`: what choosing among a model's artifacts costs at load. Each case is
// `onboard run --json` in a fresh process: naming an artifact directly, against naming the model
// and letting the chain detect the device, read each artifact's needs, plan, load and run the
// first forward. The model load time in the stats counts the whole chain.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createApp } from '../app/composition.js';
import { median } from './measure.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../entry/cli/main.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 3);
const MODEL = 'smollm2-135m-instruct';

const artifacts = (await createApp().cache.models()).get(MODEL) ?? [];
const ids = artifacts.map((a) => a.manifest.id);
const gguf = artifacts.find((a) => a.manifest.format === 'gguf')?.manifest.id;
const pte = artifacts.find((a) => a.manifest.format === 'pte' && a.manifest.quantization.startsWith('8da8w'))?.manifest.id;
if (!gguf || !pte) {
  process.stderr.write(`${MODEL} needs its GGUF and the 8da8w export in the cache (onboard models pull; onboard export -c configs/smollm2-135m-xnnpack-8da8w.yaml)\n`);
  process.exit(1);
}

interface Case {
  name: string;
  args: string[];
}
const cases: Array<[Case, Case]> = [
  [
    { name: `--model ${gguf}`, args: ['--model', gguf] },
    { name: `--model ${MODEL} --engine llamacpp`, args: ['--model', MODEL, '--engine', 'llamacpp'] },
  ],
  [
    { name: `--model ${pte}`, args: ['--model', pte] },
    { name: `--model ${MODEL}`, args: ['--model', MODEL] },
  ],
];

async function loadMs(c: Case): Promise<{ loadMs: number; artifact?: string }> {
  const { stdout } = await run(process.execPath, [cli, 'run', '--json', '--temperature', '0', '--max-tokens', '4', ...c.args, 'Hello'], { maxBuffer: 1 << 22 });
  const { stats } = JSON.parse(stdout) as { stats: { modelLoadMs: number; artifact?: string } };
  return { loadMs: stats.modelLoadMs, ...(stats.artifact ? { artifact: stats.artifact } : {}) };
}

const rows = [];
process.stdout.write(`model load, median of ${runs} fresh processes (npm run bench:chain); ${MODEL} has ${ids.length} artifacts: ${ids.join(', ')}\n`);
process.stdout.write('| direct | ms | through the chain | ms | chose | ratio |\n|---|---:|---|---:|---|---:|\n');
for (const [direct, chain] of cases) {
  const a: number[] = [];
  const b: number[] = [];
  let chose = '';
  // Interleaved, so a slow moment of the machine hits both sides.
  for (let i = 0; i < runs; i++) {
    a.push((await loadMs(direct)).loadMs);
    const viaChain = await loadMs(chain);
    b.push(viaChain.loadMs);
    chose = viaChain.artifact ?? '';
  }
  const row = { direct: direct.name, directMs: median(a), chain: chain.name, chainMs: median(b), chose, ratio: median(b) / median(a) };
  rows.push(row);
  process.stdout.write(`| ${row.direct} | ${row.directMs.toFixed(0)} | ${row.chain} | ${row.chainMs.toFixed(0)} | ${row.chose} | ${row.ratio.toFixed(2)}x |\n`);
}
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/chain.json', `${JSON.stringify({ runs, artifacts: ids, rows }, null, 2)}\n`);
