// `npm run bench:llama-1b:prepare`: the guide's headline model, SYNTHETIC: a checkpoint in
// Llama-3.2-1B-Instruct's full shape (16 layers, 2048 wide, a 128,256-token vocabulary) with random
// weights, exported with the upstream CPU recipe (configs/llama-3.2-1b-instruct-xnnpack-8da4w.yaml)
// and converted to GGUF by llama.cpp's own converter (convert_hf_to_gguf.py from the
// llama-cpp-python source distribution on PyPI). Each step is skipped when its result exists.
// Then `npm run bench:architectures` measures both. Not part of CI: the export takes about an hour here.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { configFromEnv, createApp } from '../app/composition.js';
import { makeSynthetic, syntheticGguf } from '../app/synthetic-checkpoint.js';

const ID = 'synthetic-llama-3.2-1b';

const config = configFromEnv();
const app = createApp(config);
const root = join(config.cacheDir, 'synthetic');
const checkpoint = join(root, 'llama3_2-1b');
await mkdir(root, { recursive: true });

if (!existsSync(join(checkpoint, 'synthetic.json'))) {
  const made = await makeSynthetic({ arch: 'llama3_2', out: checkpoint }, console.log);
  console.log(`checkpoint: ${made.path} (${(made.parameters / 1e9).toFixed(2)} B parameters, synthetic)`);
}

const started = Date.now();
const exported = await app.exportModel({
  configPath: join(import.meta.dirname, '../../configs/llama-3.2-1b-instruct-xnnpack-8da4w.yaml'),
  overrides: [`base.checkpoint=${checkpoint}`, `export.output_name=${ID}-xnnpack-8da4w`],
  log: console.log,
  onStage: (stage, detail) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${stage} ${detail}`),
});
console.log(`.pte: ${exported.model.path}${exported.reused ? ' (cached)' : ` exported in ${exported.model.manifest.exportDurationSeconds}s`}`);

const gguf = join(root, `${ID}-q8_0.gguf`);
// Q8_0: the smallest type llama.cpp's converter writes itself (Q4 needs llama-quantize, which no registry ships).
if (!existsSync(gguf)) await syntheticGguf({ checkpoint, out: gguf, type: 'q8_0' }, console.log);
console.log(`GGUF: ${gguf}`);
console.log('next: npm run bench:architectures');
