// `npm run bench:llama-1b:prepare`: the guide's headline model, SYNTHETIC: a checkpoint in
// Llama-3.2-1B-Instruct's full shape (16 layers, 2048 wide, a 128,256-token vocabulary) with random
// weights, exported with the default CPU recipe (configs/llama-3.2-1b-instruct-xnnpack-8da4w.yaml)
// and converted to GGUF by llama.cpp's own converter (convert_hf_to_gguf.py from the
// llama-cpp-python source distribution on PyPI). Each step is skipped when its result exists.
// Then `npm run bench:architectures` measures both. Not part of CI: the export takes about an hour here.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { configFromEnv, createApp } from '../app/composition.js';
import { makeSynthetic } from '../app/synthetic-checkpoint.js';
import { PYTHON_DIR, pythonEnv, requireToolchain } from '../adapters/executorch/toolchain.js';

const CONVERTER = { package: 'llama-cpp-python', version: '0.3.16' };
const MISTRAL_COMMON = 'mistral-common==1.8.3';
const ID = 'synthetic-llama-3.2-1b';

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  console.log(`$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`${command} exited ${result.status}`);
}

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
  configPath: join(PYTHON_DIR, '../configs/llama-3.2-1b-instruct-xnnpack-8da4w.yaml'),
  overrides: [`base.checkpoint=${checkpoint}`, `export.output_name=${ID}-xnnpack-8da4w`],
  log: console.log,
  onStage: (stage, detail) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)}s] ${stage} ${detail}`),
});
console.log(`.pte: ${exported.model.path}${exported.reused ? ' (cached)' : ` exported in ${exported.model.manifest.exportDurationSeconds}s`}`);

const gguf = join(root, `${ID}-q8_0.gguf`);
if (!existsSync(gguf)) {
  const toolchain = await requireToolchain();
  const tools = join(config.cacheDir, 'tools');
  const source = join(tools, `llama_cpp_python-${CONVERTER.version}`);
  if (!existsSync(join(source, 'vendor/llama.cpp/convert_hf_to_gguf.py'))) {
    run(toolchain.python, ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', `${CONVERTER.package}==${CONVERTER.version}`, '-d', tools]);
    run('tar', ['xzf', join(tools, `llama_cpp_python-${CONVERTER.version}.tar.gz`), '-C', tools, `llama_cpp_python-${CONVERTER.version}/vendor/llama.cpp/convert_hf_to_gguf.py`, `llama_cpp_python-${CONVERTER.version}/vendor/llama.cpp/gguf-py`]);
  }
  const deps = join(tools, 'gguf-deps');
  if (!existsSync(join(deps, 'mistral_common'))) run(toolchain.python, ['-m', 'pip', 'install', '--target', deps, MISTRAL_COMMON]);
  // Q8_0 is the smallest type the converter writes itself (Q4 needs llama-quantize, which no registry ships).
  run(toolchain.python, ['-m', 'onboard_executorch.synthetic.gguf', join(source, 'vendor/llama.cpp'), deps, checkpoint, `${gguf}.part`, 'q8_0'], { cwd: PYTHON_DIR, env: pythonEnv() });
  await rename(`${gguf}.part`, gguf);
}
console.log(`GGUF: ${gguf}`);
console.log('next: npm run bench:architectures');
