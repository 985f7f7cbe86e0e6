// Runs the core's unit tests (the FAKE-engine tests and the pure ones) under Hermes, React Native's
// JavaScript engine, compiled the way Metro compiles an app: bundled, then transformed with
// @react-native/babel-preset (which lowers what Hermes lacks, such as `for await`). node:test and
// node:assert are replaced by test/hermes/ stand-ins; nothing is added to the core. Like Metro, Babel
// runs on each file (TypeScript stripped first), which takes seconds where one pass over the whole
// bundle takes minutes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { transformAsync } from '@babel/core';
import { build, transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const TESTS = ['test/core-units.test.ts', 'test/core-logic.test.ts', 'test/core-tools.test.ts', 'test/logit-sampler.test.ts', 'test/chat-templates.test.ts'];
const hermes = join(root, 'node_modules/hermes-engine-cli', { linux: 'linux64-bin', darwin: 'osx-bin', win32: 'win64-bin' }[process.platform] ?? 'linux64-bin', 'hermes');

const entry = [`import './test/hermes/host.ts';`, `import { runCollected } from 'node:test';`, ...TESTS.map((file) => `import './${file}';`), 'runCollected();'].join('\n');
/** Metro's per-file transform: @react-native/babel-preset over every module, imports left for the bundler. */
const reactNativeBabel = {
  name: 'react-native-babel',
  setup(bundler) {
    bundler.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const js = path.endsWith('.ts') ? (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022', sourcefile: path })).code : source;
      const compiled = await transformAsync(js, {
        filename: path.replace(/\.ts$/, '.js'),
        babelrc: false,
        configFile: false,
        presets: [['@react-native/babel-preset', { enableBabelRuntime: false, disableImportExportTransform: true }]],
      });
      return { contents: compiled.code, loader: 'js' };
    });
  },
};

const bundled = await build({
  stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'hermes-entry.ts' },
  bundle: true,
  format: 'iife',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  write: false,
  alias: { 'node:test': './test/hermes/node-test.ts', 'node:assert/strict': './test/hermes/assert-strict.ts' },
  plugins: [reactNativeBabel],
  logLevel: 'warning',
});
const compiled = { code: bundled.outputFiles[0].text };

const dir = mkdtempSync(join(tmpdir(), 'onboard-hermes-'));
try {
  const file = join(dir, 'core-tests.js');
  writeFileSync(file, compiled.code);
  const run = spawnSync(hermes, ['-w', file], { encoding: 'utf8', timeout: 120_000 });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  const passed = Number(/# pass (\d+)/.exec(run.stdout)?.[1] ?? 0);
  const failed = Number(/# fail (\d+)/.exec(run.stdout)?.[1] ?? 1);
  if (run.status !== 0 || failed > 0 || passed === 0) {
    process.stderr.write(`Hermes: ${passed} passed, ${failed} failed, exit ${run.status ?? run.signal}\n`);
    process.exit(1);
  }
  process.stdout.write(`Hermes ran the core's unit tests: ${passed} passed\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
